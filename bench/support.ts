import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SingleBar } from 'cli-progress';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppModule } from '../api/src/app.module';
import { AuditService } from '../api/src/audit/audit.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { PlatformAdapter } from '../api/src/rollout/platform-adapter';

export interface BenchContext {
  app: INestApplicationContext;
  db: DataSource;
  url: string;
  stop(): Promise<void>;
}

/** A fresh database (embedded PostgreSQL in a temp folder, or a new database on DATABASE_URL), loaded like `npm start`. */
export async function benchContext(name: string, adapters: PlatformAdapter[] = []): Promise<BenchContext> {
  let url: string;
  let stopPg = async () => undefined as void;
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
    const pg = await startEmbeddedPostgres({ dir: mkdtempSync(join(tmpdir(), 'mdm-bench-')), port: 54500 + Math.floor(Math.random() * 400), database: name, persistent: false });
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
    stop: async () => {
      await app.close();
      await stopPg();
    },
  };
}

export function progressBar(label: string, total: number): { tick: (n?: number) => void; done: () => void } {
  const bar = new SingleBar({ format: `${label.padEnd(28)} {bar} {percentage}% {value}/{total} {eta_formatted} left`, stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 });
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
  return { n: s.length, p50: round(percentile(s, 50)), p95: round(percentile(s, 95)), p99: round(percentile(s, 99)), max: round(s[s.length - 1]) };
}
