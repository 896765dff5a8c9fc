import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MultiBar, Presets } from 'cli-progress';
import { Command } from 'commander';
import { userInfo } from 'node:os';
import { AppModule } from '../app.module';
import { loadConfig } from '../config/app-config';
import { resolveDatabase } from '../database/database-url';
import { runMigrations } from '../database/data-source';
import { RolloutEngine } from './rollout-engine.service';
import { RolloutService } from './rollout.service';
import type { RolloutView } from './rollout.view';

async function withContext<T>(run: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await resolveDatabase(config);
  await runMigrations(db.migrationUrl);
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      databaseUrl: db.url,
      oidc: { issuer: 'http://127.0.0.1:9', audience: 'cli' },
      worker: false,
      mail: { mailFrom: 'cli@localhost', publicUrl: 'http://localhost' },
      rollout: {},
    }),
    { logger: ['error'] },
  );
  try {
    return await run(app);
  } finally {
    await app.close();
    await db.embedded?.stop();
  }
}

const pct = (n: number, of: number) => (of === 0 ? '100' : ((100 * n) / of).toFixed(1));

function describeRollout(r: RolloutView): string[] {
  const lines = [
    `rollout ${r.id}  ${r.scope}  ${r.status}${r.pauseReason ? ` (${r.pauseReason})` : ''}  stage ${r.stageIndex + 1}/${r.stages.length}  — ${r.reason}`,
  ];
  for (const s of r.progress) {
    lines.push(
      `  stage ${s.stage + 1} (${String(s.percent).padStart(3)} %) ${s.released ? 'released' : 'held    '}  ${s.converged}/${s.devices} converged (${pct(s.converged, s.devices)} %), ${s.pending} pending, ${s.failed} failed, ${s.held} held, ${s.nonCompliant} non-compliant`,
    );
  }
  return lines;
}

async function status(opts: { id?: string; ministry?: string; watch?: boolean; interval: string }): Promise<void> {
  await withContext(async (app) => {
    const service = app.get(RolloutService);
    const interval = Math.max(1, Number(opts.interval)) * 1000;
    if (!opts.watch || !process.stdout.isTTY) {
      do {
        const { rollouts, fleet } = await service.operatorView(opts);
        if (rollouts.length === 0) console.log(opts.id ? `No rollout ${opts.id}.` : 'No active rollout.');
        for (const r of rollouts) console.log(describeRollout(r).join('\n'));
        for (const m of fleet)
          console.log(
            `${m.ministry.padEnd(12)} ${m.converged}/${m.devices} converged (${pct(m.converged, m.devices)} %), ${m.failed} failed, ${m.nonCompliant} non-compliant`,
          );
        if (!opts.watch || rollouts.every((r) => r.status !== 'running' && r.status !== 'preparing')) return;
        await new Promise((r) => setTimeout(r, interval));
      } while (opts.watch);
      return;
    }
    // Live view: one bar per stage of each active rollout and one per ministry, until nothing runs.
    const bars = new MultiBar(
      { format: '{label} {bar} {percentage}% {value}/{total} {detail}', hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    const byKey = new Map<string, ReturnType<MultiBar['create']>>();
    const show = (key: string, label: string, value: number, total: number, detail: string) => {
      const existing = byKey.get(key);
      if (existing) {
        existing.setTotal(Math.max(total, 1));
        existing.update(value, { label, detail });
      } else byKey.set(key, bars.create(Math.max(total, 1), value, { label, detail }));
    };
    for (;;) {
      const { rollouts, fleet } = await service.operatorView(opts);
      for (const r of rollouts) {
        for (const s of r.progress) {
          show(
            `${r.id}:${s.stage}`,
            `${r.scope.padEnd(10)} stage ${s.stage + 1} ${String(s.percent).padStart(3)}%`.padEnd(28),
            s.converged,
            s.devices,
            `${r.status}, ${s.pending} pending, ${s.failed} failed, ${s.held} held`,
          );
        }
      }
      for (const m of fleet)
        show(
          `m:${m.ministry}`,
          `ministry ${m.ministry}`.padEnd(28),
          m.converged,
          m.devices,
          `${m.failed} failed, ${m.nonCompliant} non-compliant`,
        );
      if (rollouts.every((r) => r.status !== 'running' && r.status !== 'preparing')) break;
      await new Promise((r) => setTimeout(r, interval));
    }
    bars.stop();
  });
}

async function control(action: 'pause' | 'resume' | 'abort' | 'advance', id: string, reason?: string): Promise<number> {
  return withContext(async (app) => {
    const updated = await app
      .get(RolloutEngine)
      .control(id, { id: null, label: `rollout CLI (${userInfo().username})` }, action, reason);
    if (!updated) {
      console.error(`Rollout ${id} cannot ${action} in its current state (or does not exist).`);
      return 1;
    }
    console.log(`Rollout ${id}: ${updated.status}, stage ${updated.stageIndex + 1}/${updated.stages.length}`);
    return 0;
  });
}

async function main(): Promise<void> {
  let code = 0;
  const program = new Command('rollout').description('Follow and steer policy rollouts.');
  program
    .command('status')
    .description('Progress of active rollouts per stage and of every ministry; --watch for live bars')
    .option('--id <id>', 'one rollout (active or not)')
    .option('--ministry <code>', 'one ministry and the national rollouts')
    .option('--watch', 'refresh until no rollout is running')
    .option('--interval <seconds>', 'refresh interval', '2')
    .action((opts: { id?: string; ministry?: string; watch?: boolean; interval: string }) => status(opts));
  for (const action of ['pause', 'resume', 'advance', 'abort'] as const) {
    program
      .command(`${action} <id>`)
      .option('--reason <text>', 'recorded in the audit log')
      .action(async (id: string, opts: { reason?: string }) => {
        code = await control(action, id, opts.reason);
      });
  }
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    code = 1;
  }
  process.exit(code);
}

if (require.main === module) void main();
