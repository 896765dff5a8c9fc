import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from './app.factory';
import { AuditService } from './audit/audit.service';
import { androidSettingsFrom, appleSettingsFrom, ConfigError, httpSecurityFrom, loadConfig } from './config/app-config';
import { resolveDatabase } from './database/database-url';
import { runMigrations } from './database/data-source';
import { seedDemoData } from './demo/demo-seeder';
import { importPoliciesIfEmpty } from './policies/as-code/import-policies';
import { PolicyFilesInvalid } from './policies/as-code/policy-files';
import { PolicyGroupService } from './rollout/policy-group.service';
import { WorkerService } from './worker/worker.service';

const ROOT = resolve(__dirname, '../../..');

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
    child.once('exit', (code) => fail(new Error(`the development identity provider exited (${code})`)));
    process.once('exit', () => child.kill('SIGTERM'));
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await resolveDatabase(config);
  console.log(
    `${db.embedded ? `PostgreSQL: embedded, data in ${config.EMBEDDED_PG_DIR}` : 'PostgreSQL: DATABASE_URL'}; the service runs as role ${config.DATABASE_ROLE}`,
  );
  const migrated = await runMigrations(db.migrationUrl);
  if (migrated.length > 0) console.log(`Migrations applied: ${migrated.join(', ')}`);

  let issuer = config.OIDC_ISSUER;
  if (!issuer) {
    const idp = await startDevIdp(config.OIDC_AUDIENCE);
    issuer = idp.issuer;
    console.log(`OIDC: development provider with demo users at ${issuer} (set OIDC_ISSUER for ProConnect)`);
  }

  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  const app = await createApp({
    databaseUrl: db.url,
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
    worker: true,
    mail: { smtpUrl: config.SMTP_URL, mailFrom: config.MAIL_FROM, publicUrl },
    rollout: { simulateDevices: config.DEVICE_SIMULATOR },
    android: androidSettingsFrom(config),
    apple: appleSettingsFrom(config),
    ...httpSecurityFrom(config),
  });
  await app.init();
  const imported = await importPoliciesIfEmpty(app, resolve(config.POLICIES_DIR));
  console.log(`Policies: ${imported.note}`);
  if (config.DEMO_DATA) {
    const demo = await seedDemoData(app.get(DataSource), app.get(AuditService));
    if (demo.created) console.log(`Demo data: ${demo.agents} agents and ${demo.devices} devices created`);
  }
  const grouped = await app.get(DataSource).transaction((tx) => app.get(PolicyGroupService).assignUngrouped(tx));
  if (grouped > 0) console.log(`Rollout: ${grouped} device(s) placed in their policy group and queued for push`);
  if (config.DEVICE_SIMULATOR)
    console.log('Devices: simulated phones apply what they are sent (DEVICE_SIMULATOR=true; demo only)');
  await app.get(WorkerService).start();
  await app.listen(config.PORT, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  console.log(`\nAPI ready at ${url}  ·  OpenAPI docs at ${url}/api/docs  ·  health at ${url}/health\n`);

  const shutdown = async () => {
    await app.close();
    await db.embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof PolicyFilesInvalid) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
