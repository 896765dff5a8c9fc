import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SingleBar } from 'cli-progress';
import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createApp, CreateAppOptions } from '../api/src/app.factory';
import { AppModule } from '../api/src/app.module';
import { AuditService } from '../api/src/audit/audit.service';
import { loadConfig } from '../api/src/config/app-config';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { PlatformAdapter } from '../api/src/rollout/platform-adapter';

export interface BenchContext {
  app: INestApplicationContext;
  db: DataSource;
  url: string;
  /** The embedded PostgreSQL's data folder (for cpuMeter); undefined on DATABASE_URL. */
  pgDir?: string;
  stop(): Promise<void>;
}

/** A fresh database (embedded PostgreSQL in a temp folder, or a new database on DATABASE_URL), loaded like `npm start`. */
export async function benchContext(name: string, adapters: PlatformAdapter[] = []): Promise<BenchContext> {
  let url: string;
  let stopPg = async () => undefined as void;
  let pgDir: string | undefined;
  if (process.env.DATABASE_URL) {
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = `/${name}`;
    url = u.toString();
  } else {
    pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-'));
    const pg = await startEmbeddedPostgres({
      dir: pgDir,
      port: 54500 + Math.floor(Math.random() * 400),
      database: name,
      persistent: false,
    });
    url = pg.url;
    stopPg = () => pg.stop();
  }
  await runMigrations(url);
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      databaseUrl: url,
      oidc: { issuer: 'http://127.0.0.1:9', audience: 'bench' },
      worker: false,
      mail: { mailFrom: 'bench@localhost', publicUrl: 'http://localhost' },
      rollout: { adapters },
    }),
    { logger: ['error'] },
  );
  await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
  await seedDemoData(app.get(DataSource), app.get(AuditService));
  return {
    app,
    db: app.get(DataSource),
    url,
    pgDir,
    stop: async () => {
      await app.close();
      await stopPg();
    },
  };
}

export function progressBar(label: string, total: number): { tick: (n?: number) => void; done: () => void } {
  const bar = new SingleBar({
    format: `${label.padEnd(28)} {bar} {percentage}% {value}/{total} {eta_formatted} left`,
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), done: () => bar.stop() };
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const index = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)];
}

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
}

export function summary(samples: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    n: s.length,
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    max: round(s[s.length - 1]),
  };
}

// --- CPU accounting and load helpers shared by the benchmarks -------------------------------------

export interface CpuUse {
  /** Percent of one core over the wall time, this process (service, plus any worker thread in it). */
  nodeProcessPercent: number;
  postgresPercent: number;
  /** Both cores busy = 200 (anything else running on the machine counts too). */
  machinePercent: number;
}

/** CPU time (ms) per process of the embedded PostgreSQL: its postmaster (pid in the data folder) and its children. */
export function postgresCpuMs(dataDir: string): Map<number, number> {
  const out = new Map<number, number>();
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return out;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[1] = ppid, f[11] = utime, f[12] = stime (clock ticks)
      if (Number(entry) === postmaster || Number(f[1]) === postmaster)
        out.set(Number(entry), (Number(f[11]) + Number(f[12])) * 10); // USER_HZ = 100
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU time (ms) of one process. */
export function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** CPU ms used since `before` by the processes alive now (a backend that ended meanwhile is not counted). */
export function postgresCpuSince(dataDir: string, before: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of postgresCpuMs(dataDir)) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/** Percent of one core over the wall time: this process (service or bare server, plus the load worker thread), PostgreSQL, the machine (2 busy cores = 200). */
export function cpuMeter(pgDataDir: string): () => CpuUse {
  const sample = () =>
    cpus().reduce(
      (acc, c) => ({
        idle: acc.idle + c.times.idle,
        total: acc.total + c.times.idle + c.times.user + c.times.sys + c.times.nice + c.times.irq,
      }),
      { idle: 0, total: 0 },
    );
  const start = sample();
  const proc = process.cpuUsage();
  const pg0 = postgresCpuMs(pgDataDir);
  const t0 = process.hrtime.bigint();
  return () => {
    const end = sample();
    const p = process.cpuUsage(proc);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return {
      nodeProcessPercent: Math.round(((p.user + p.system) / 1000 / wallMs) * 100),
      postgresPercent: Math.round((postgresCpuSince(pgDataDir, pg0) / wallMs) * 100),
      machinePercent: Math.round(
        (1 - (end.idle - start.idle) / Math.max(1, end.total - start.total)) * 100 * cpus().length,
      ),
    };
  };
}

export function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export async function inParallel(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
  onDone?: () => void,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await fn(i);
        onDone?.();
      }
    }),
  );
}

/** The service's options as the benchmarks start it (no identity provider, no mail server, no worker unless asked). */
export function benchAppOptions(databaseUrl: string, overrides: Partial<CreateAppOptions> = {}): CreateAppOptions {
  return {
    databaseUrl,
    // DB_POOL_SIZE applies to the benches' in-process service as it does to `npm start`.
    dbPoolSize: loadConfig().DB_POOL_SIZE,
    oidc: { issuer: 'http://127.0.0.1:9', audience: 'bench' },
    logLevel: 'warn',
    bodyLimitBytes: 5_000_000,
    worker: false,
    mail: { mailFrom: 'bench@localhost', publicUrl: 'http://localhost' },
    rollout: {},
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// The service in a child process of the benchmark (so that it has its own event loop and core).

type ToServiceChild<C> = { type: 'start'; config: C } | { type: 'stop' };
type FromServiceChild = { type: 'started'; url: string };

/**
 * In the child (the benchmark file forked with BENCH_ROLE=`role`): builds the service from the
 * config the parent sends, listens on a loopback port, and stops when told or when the parent goes.
 */
export function serveInChild<C>(label: string, options: (config: C) => CreateAppOptions): void {
  let app: INestApplication | undefined;
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToServiceChild<C>) => {
    void (async () => {
      if (m.type === 'start') {
        app = await createApp(options(m.config));
        await app.init();
        await app.listen(0, '127.0.0.1');
        process.send?.({
          type: 'started',
          url: (await app.getUrl()).replace('[::1]', '127.0.0.1'),
        } satisfies FromServiceChild);
      } else {
        await app?.close();
        process.exit(0);
      }
    })().catch((e: unknown) => {
      console.error(`${label}:`, e);
      process.exit(1);
    });
  });
}

/** In the parent: forks `file` with BENCH_ROLE=`role`, sends it `config`, resolves with its URL. */
export async function forkService<C>(
  file: string,
  role: string,
  config: C,
  extraExecArgv: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(file, [], {
    env: { ...process.env, BENCH_ROLE: role },
    execArgv: [...process.execArgv, ...extraExecArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((ok, ko) => {
    child.once('error', ko);
    child.once('exit', (code) => ko(new Error(`${role} exited (${code})`)));
    child.on('message', (m: FromServiceChild) => m.type === 'started' && ok(m.url));
    child.send({ type: 'start', config } satisfies ToServiceChild<C>);
  });
  child.removeAllListeners('exit');
  return { url, child };
}

/** Asks the child to close the service (killed after 10 s). */
export function stopService(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      ok();
    });
    if (child.connected) child.send({ type: 'stop' } satisfies ToServiceChild<never>);
    else child.kill('SIGTERM');
  });
}
