import 'reflect-metadata';
import { spawn } from 'node:child_process';
import cluster, { Worker as ClusterWorker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp, CreateAppOptions } from './app.factory';
import { AuditService } from './audit/audit.service';
import { AuditKeyError } from './audit/audit-keys';
import {
  AppConfig,
  androidSettingsFrom,
  appleSettingsFrom,
  auditSettingsFrom,
  ConfigError,
  httpSecurityFrom,
  loadConfig,
} from './config/app-config';
import { resolveDatabase } from './database/database-url';
import { runMigrations } from './database/data-source';
import { EmbeddedPostgresError } from './database/embedded-postgres';
import { checkServiceLogin } from './database/service-role';
import { seedDemoData } from './demo/demo-seeder';
import demoUsers from './demo/demo-users.json';
import { quietDefaultLogs } from './observability/logger';
import { formatStartBanner } from './observability/start-banner';
import { importPoliciesIfEmpty } from './policies/as-code/import-policies';
import { PolicyFilesInvalid } from './policies/as-code/policy-files';
import { PolicyGroupService } from './rollout/policy-group.service';
import { WorkerService } from './worker/worker.service';

/** The repository: `npm start` runs api/src/main.ts through swc, a build runs dist/api/src/main.js. */
const ROOT =
  [resolve(__dirname, '../..'), resolve(__dirname, '../../..')].find((dir) =>
    existsSync(resolve(dir, 'tools/dev-idp/server.mjs')),
  ) ?? process.cwd();

/** A failure told in one sentence, without a stack trace. */
class StartError extends Error {}

function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const probe = createServer();
    probe.once('error', () => ok(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => ok(true)));
  });
}

/** Starts the loopback OIDC provider with demo users when no real issuer is configured. */
function startDevIdp(audience: string): Promise<{ issuer: string; stop: () => void }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'tools/dev-idp/server.mjs')], {
      env: { ...process.env, DEV_IDP_PORT: process.env.DEV_IDP_PORT ?? '3001', DEV_IDP_AUDIENCE: audience },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /DEV_IDP_READY (\S+)/.exec(chunk.toString());
      if (match) ok({ issuer: match[1], stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) =>
      fail(
        new StartError(
          `The development identity provider (tools/dev-idp) stopped with code ${code}; its message is above.`,
        ),
      ),
    );
    process.once('exit', () => child.kill('SIGTERM'));
  });
}

/**
 * The service must not log in as a superuser or as the owner of the tables: it could then rewrite the
 * audit log (and its head) in place. Refused with NODE_ENV=production, a warning otherwise (the
 * embedded PostgreSQL always gives it a login of its own).
 */
async function refuseOwnerLogin(config: AppConfig, serviceUrl: string): Promise<void> {
  const login = await checkServiceLogin(serviceUrl);
  if (!login.superuser && !login.owner) return;
  const why = `DATABASE_URL logs in as "${login.login}", ${login.superuser ? 'a superuser' : 'the owner of the tables'}: a compromised service could rewrite the audit log. Give the service a login that is only a member of ${config.DATABASE_ROLE} (README, "Security").`;
  if (config.NODE_ENV === 'production') throw new StartError(why);
  console.warn(`Warning: ${why}`);
}

/** The service's options, the same in every process (`worker`: the job consumers run in the first one only). */
function appOptions(config: AppConfig, databaseUrl: string, issuer: string, worker: boolean): CreateAppOptions {
  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  const apple = appleSettingsFrom(config);
  // The first process of a cluster answers no request: it keeps no enrollment identities ready.
  const firstOfCluster = worker && config.API_PROCESSES > 1;
  return {
    databaseUrl,
    dbPoolSize: config.DB_POOL_SIZE,
    oidc: {
      issuer,
      audience: config.OIDC_AUDIENCE,
      // The development provider's confidential client when no real issuer is configured.
      clientId: config.OIDC_CLIENT_ID ?? (config.OIDC_ISSUER ? undefined : 'mdm-api'),
      clientSecret: config.OIDC_CLIENT_SECRET ?? (config.OIDC_ISSUER ? undefined : 'dev-secret'),
      publicUrl,
    },
    logLevel: config.LOG_LEVEL,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    worker,
    mail: { smtpUrl: config.SMTP_URL, mailFrom: config.MAIL_FROM, publicUrl },
    rollout: { simulateDevices: config.DEVICE_SIMULATOR },
    android: androidSettingsFrom(config),
    apple: apple && firstOfCluster ? { ...apple, identityPool: 0 } : apple,
    audit: auditSettingsFrom(config),
    ...httpSecurityFrom(config),
  };
}

/** What the first process tells the HTTP processes it forks (API_PROCESSES > 1). */
const CLUSTER_DATABASE_URL = 'MDM_CLUSTER_DATABASE_URL';
const CLUSTER_ISSUER = 'MDM_CLUSTER_OIDC_ISSUER';

/**
 * An HTTP process of the cluster: the database is migrated, the demo data seeded and the identity
 * provider started by the first process; this one builds the same service and listens on the shared
 * port (node:cluster hands each connection to one of them).
 */
async function serveInCluster(): Promise<void> {
  const config = loadConfig();
  quietDefaultLogs('warn');
  const app = await createApp(
    appOptions(config, process.env[CLUSTER_DATABASE_URL] as string, process.env[CLUSTER_ISSUER] as string, false),
  );
  await app.init();
  await app.listen(config.PORT, '127.0.0.1');
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    void app.close().finally(() => process.exit(0));
  };
  // The first process stops its HTTP processes with SIGTERM; a Ctrl+C reaches the whole group.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, close);
  process.on('disconnect', close);
}

/** Forks the HTTP processes and resolves once each listens on the port. */
async function forkHttpProcesses(count: number, databaseUrl: string, issuer: string): Promise<ClusterWorker[]> {
  const workers: ClusterWorker[] = [];
  for (let i = 0; i < count; i++) {
    const worker = cluster.fork({ [CLUSTER_DATABASE_URL]: databaseUrl, [CLUSTER_ISSUER]: issuer });
    workers.push(worker);
    await new Promise<void>((ok, fail) => {
      worker.once('listening', () => ok());
      worker.once('exit', (code) =>
        fail(new StartError(`HTTP process ${i + 1} of ${count} stopped with code ${code} while starting.`)),
      );
    });
    worker.removeAllListeners('exit');
    worker.on('exit', (code, signal) => {
      if (!stoppingCluster) console.error(`An HTTP process stopped (${signal ?? `code ${code}`}).`);
    });
  }
  return workers;
}

let stoppingCluster = false;

async function main(): Promise<void> {
  // Until the service is up, a Ctrl+C just leaves: the exit hooks stop PostgreSQL and the identity provider.
  let shutdown: () => Promise<void> = async () => process.exit(130);
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130); // a second Ctrl+C: do not wait
    stopping = true;
    void shutdown();
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of SIGNALS) process.on(signal, onSignal);

  const config = loadConfig();
  // The audit key and checkpoint folder first: a missing key is one sentence, before anything starts.
  const audit = auditSettingsFrom(config);
  if (!(await portFree(config.PORT)))
    throw new StartError(
      `Port ${config.PORT} is taken (another npm start?): stop what uses it, or set PORT to another port.`,
    );
  // Start-up chatter (the worker's start…) only with LOG_LEVEL=debug; warnings and errors always.
  const releaseLogs = quietDefaultLogs('warn');
  console.log('Starting PostgreSQL, the API, the worker and the admin UI…');
  const notes: [string, string][] = [];
  const db = await resolveDatabase(config, { detached: true });
  const migrated = await runMigrations(db.migrationUrl).catch((error: unknown) => {
    if (config.DATABASE_URL || db.embedded) throw error;
    throw new StartError(
      `Port ${config.EMBEDDED_PG_PORT} answers, but not as this project's embedded PostgreSQL (${String(error)}): stop what uses it, or set EMBEDDED_PG_PORT to another port.`,
    );
  });
  if (migrated.length > 0 && config.LOG_LEVEL === 'debug') console.log(`Migrations applied: ${migrated.join(', ')}`);
  await refuseOwnerLogin(config, db.url);

  let issuer = config.OIDC_ISSUER;
  if (!issuer) issuer = (await startDevIdp(config.OIDC_AUDIENCE)).issuer;

  const app = await createApp({ ...appOptions(config, db.url, issuer, true), audit });
  await app.init();
  const imported = await importPoliciesIfEmpty(app, resolve(config.POLICIES_DIR));
  if (imported.imported || !imported.note.includes('matches')) notes.push(['Policies', imported.note]);
  const phones: string[] = [];
  if (config.DEMO_DATA) {
    const demo = await seedDemoData(app.get(DataSource), app.get(AuditService));
    if (demo.created) phones.push(`${demo.devices} demo phones created`);
  }
  const grouped = await app.get(DataSource).transaction((tx) => app.get(PolicyGroupService).assignUngrouped(tx));
  if (grouped > 0) phones.push(`${grouped} queued for push`);
  if (config.DEVICE_SIMULATOR)
    phones.push('simulated: they apply what they are sent (DEVICE_SIMULATOR=true, demo only)');
  if (phones.length > 0) notes.push(['Phones', phones.join('; ')]);
  await app.get(WorkerService).start();
  let port = config.PORT;
  let httpProcesses: ClusterWorker[] = [];
  if (config.API_PROCESSES > 1) {
    // This process keeps the worker; the HTTP processes share the port.
    httpProcesses = await forkHttpProcesses(config.API_PROCESSES, db.url, issuer);
    notes.push(['HTTP', `${config.API_PROCESSES} processes share the port (API_PROCESSES)`]);
  } else {
    try {
      await app.listen(config.PORT, '127.0.0.1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new StartError(`Port ${config.PORT} is taken: stop what uses it, or set PORT to another port.`);
      throw error;
    }
    port = (app.getHttpServer().address() as AddressInfo).port;
  }

  // From now on the signals are ours alone: Nest's shutdown hooks would raise the signal again once the
  // application is closed, and PostgreSQL must stop after the application, not under it.
  for (const signal of SIGNALS) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
  shutdown = async () => {
    console.log('Stopping…');
    quietDefaultLogs('error');
    stoppingCluster = true;
    await Promise.all(
      httpProcesses.map(
        (w) =>
          new Promise<void>((ok) => {
            if (w.isDead()) return ok();
            w.once('exit', () => ok());
            w.process.kill('SIGTERM');
          }),
      ),
    );
    try {
      await app.close();
    } finally {
      await db.embedded?.stop();
    }
    process.exit(0);
  };
  console.log(
    formatStartBanner({
      url: config.PUBLIC_URL ?? `http://localhost:${port}`,
      seconds: process.uptime(),
      adminUiBuilt: existsSync(resolve(ROOT, 'admin-ui/dist/index.html')),
      demo: config.OIDC_ISSUER ? undefined : { issuer, users: demoUsers.users },
      issuer,
      data: db.location,
      notes,
      logLevel: config.LOG_LEVEL,
    }),
  );
  releaseLogs();
}

(cluster.isWorker ? serveInCluster() : main()).catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof PolicyFilesInvalid ||
    error instanceof EmbeddedPostgresError ||
    error instanceof AuditKeyError ||
    error instanceof StartError
  ) {
    console.error(error.message);
  } else {
    console.error('npm start failed:', error);
  }
  process.exit(1);
});
