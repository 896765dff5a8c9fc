/**
 * `npm run bench -- load`: the API under mixed agent/approver traffic at a fixed rate, with one
 * replica, then with two API processes and two workers on one database (LOAD_REPLICAS, default
 * "1,2": each count is a phase of the same run, on a fresh database).
 *
 * Each phase runs the service as production does: N API processes (createApp, production rate
 * limits, worker off) and N worker processes (`npm run worker`'s job consumers), each in its own
 * child process on 127.0.0.1, logged in as the service login (a member of the service role only),
 * on an embedded PostgreSQL (or DATABASE_URL) loaded with the policies and demo data, trusting the
 * loopback OIDC provider (tools/dev-idp). The workers push to a platform that records every push in
 * a table (bench_push_log) and applies it, so that duplicates can be counted.
 *
 * LOAD_AGENTS agents per ministry (default 500, 2,000 in all, each with a phone) and LOAD_APPROVERS
 * approvers per ministry (default 5) get real access tokens signed with the provider's key;
 * LOAD_PENDING pending requests per ministry (default 200) start the queues; LOAD_WORKERS sets the
 * worker processes per phase (default: as many as API processes; 0: the jobs wait). bench/load-traffic.ts
 * describes the traffic (an open-loop, evenly paced generator in this process, at most
 * LOAD_CONNECTIONS connections, default 50, spread over the API processes). After a
 * LOAD_WARMUP_SECONDS (default 3) warm-up at the same rate, it drives LOAD_RATE requests/s (default
 * 300) for LOAD_SECONDS (default 60) and reports latency percentiles, requests/s, statuses (per kind
 * of request) and CPU use. Then, per phase:
 * - limits shared: one more person sends RATE_LIMIT_PER_USER + 60 requests spread over every API
 *   process; exactly the limit must get through;
 * - no duplicate push: once the queues are drained, no (platform, policy or device, hash) was pushed
 *   twice, and the pushes were shared by the workers.
 * Exits 1 on any 5xx, unanswered request, limit not shared or duplicate push.
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { JWK } from 'jose';
import { Pool } from 'pg';
import { CreateAppOptions } from '../api/src/app.factory';
import { AppModule } from '../api/src/app.module';
import { PLATFORM_TRAITS, Platform } from '../api/src/devices/platforms';
import { ensureServiceLogin, serviceLoginUrl } from '../api/src/database/service-role';
import { DeviceReporter, DeviceTarget, GroupTarget, PlatformAdapter } from '../api/src/rollout/platform-adapter';
import { DEFAULT_RATE_LIMIT } from '../api/src/security/rate-limit-settings';
import { WorkerService } from '../api/src/worker/worker.service';
import { startDevIdp } from '../api/test/support/dev-idp';
import { driveLoad, LoadReport, mint, seedLoadPopulation } from './load-traffic';
import {
  benchAppOptions,
  benchContext,
  cpuMeter,
  forkService,
  processCpuMs,
  progressBar,
  serveInChild,
  stopService,
} from './support';

const RATE = Number(process.env.LOAD_RATE ?? 300);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const WARMUP_SECONDS = Number(process.env.LOAD_WARMUP_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 50);
const AGENTS = Number(process.env.LOAD_AGENTS ?? 500);
const APPROVERS = Number(process.env.LOAD_APPROVERS ?? 5);
const PENDING = Number(process.env.LOAD_PENDING ?? 200);
const REPLICAS = (process.env.LOAD_REPLICAS ?? '1,2').split(',').map(Number);
/** Worker processes per phase; default: as many as API processes. 0: the jobs wait (as the bench ran before workers). */
const WORKERS = process.env.LOAD_WORKERS === undefined ? undefined : Number(process.env.LOAD_WORKERS);
const AUDIENCE = 'mdm-apps-api';

interface ServerConfig {
  /** The service login's URL. */
  databaseUrl: string;
  /** The owner's, for the push log (workers). */
  ownerUrl: string;
  issuer: string;
}

function serviceOptions(config: ServerConfig): CreateAppOptions {
  return benchAppOptions(config.databaseUrl, {
    oidc: { issuer: config.issuer, audience: AUDIENCE },
    logLevel: 'error',
    bodyLimitBytes: 1_000_000,
    rateLimit: DEFAULT_RATE_LIMIT,
  });
}

/** The workers' platform: every push recorded (table bench_push_log), then applied at once. */
class PushLogAdapter implements PlatformAdapter {
  readonly sharedPolicies: boolean;
  private reporter?: DeviceReporter;

  constructor(
    readonly platform: Platform,
    private readonly log: Pool,
  ) {
    this.sharedPolicies = PLATFORM_TRAITS[platform].sharedPolicies;
  }

  attach(reporter: DeviceReporter): void {
    this.reporter = reporter;
  }

  private record(kind: string, target: string, hash: string): Promise<unknown> {
    return this.log.query(
      `INSERT INTO bench_push_log (kind, platform, target, hash, pid) VALUES ($1, $2, $3, $4, $5)`,
      [kind, this.platform, target, hash, process.pid],
    );
  }

  async publishGroup(group: GroupTarget): Promise<void> {
    await this.record('publish', group.policyName, group.hash);
    await this.reporter?.reportPolicyApplied(group.policyName, group.hash);
  }

  async pushDevice(device: DeviceTarget): Promise<void> {
    await this.record('push', device.deviceId, device.hash);
    // The phone applies it and says so (an Android phone attached to its group's policy reports that policy).
    await this.reporter?.reportApplied(device.deviceId, device.hash);
  }
}

/** In a worker child: the job consumers alone, as `npm run worker` runs them. */
function workInChild(): void {
  let app: INestApplicationContext | undefined;
  let log: Pool | undefined;
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { type: 'start'; config: ServerConfig } | { type: 'stop' }) => {
    void (async () => {
      if (m.type === 'start') {
        log = new Pool({ connectionString: m.config.ownerUrl, max: 4 });
        const options = serviceOptions(m.config);
        app = await NestFactory.createApplicationContext(
          AppModule.forRoot({
            ...options,
            worker: true,
            rollout: { adapters: [new PushLogAdapter('android', log), new PushLogAdapter('ios', log)] },
          }),
          { logger: ['error'] },
        );
        await app.get(WorkerService).start();
        process.send?.({ type: 'started', url: '' });
      } else {
        await app?.close();
        await log?.end();
        process.exit(0);
      }
    })().catch((e: unknown) => {
      console.error('worker:', e);
      process.exit(1);
    });
  });
}

const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

interface PhaseResult {
  replicas: number;
  report: LoadReport;
  cpuPercentOfOneCore: Record<string, number | undefined>;
  loadAverage: { before: number[]; after: number[] };
  limit: { limit: number; sent: number; accepted: number; refused: number; byReplica: Record<string, number> };
  pushes: { total: number; duplicates: number; byWorker: number[]; drainedInSeconds: number };
}

async function phase(replicas: number): Promise<PhaseResult> {
  const ctx = await benchContext(`mdm_bench_load_${replicas}`);
  const idp = await startDevIdp({ audience: AUDIENCE });
  const apis: { url: string; child: ChildProcess }[] = [];
  const workers: ChildProcess[] = [];
  try {
    const password = randomBytes(18).toString('base64url');
    const admin = new URL(ctx.url);
    admin.pathname = '/postgres';
    await ensureServiceLogin(admin.toString(), { password });
    await ctx.db.query(
      `CREATE TABLE bench_push_log (kind text, platform text, target text, hash text, pid int, at timestamptz DEFAULT clock_timestamp())`,
    );
    const config: ServerConfig = {
      databaseUrl: serviceLoginUrl(ctx.url, { password }),
      ownerUrl: ctx.url,
      issuer: idp.issuer,
    };
    for (let i = 0; i < replicas; i++) apis.push(await forkService(__filename, 'server', config));
    for (let i = 0; i < (WORKERS ?? replicas); i++)
      workers.push((await forkService(__filename, 'worker', config)).child);
    const urls = apis.map((a) => a.url);
    const privateJwk = (JSON.parse(readFileSync(idp.jwksOutPath, 'utf8')) as { keys: JWK[] }).keys[0];
    const identity = { issuer: idp.issuer, audience: AUDIENCE, privateJwk };
    const population = await seedLoadPopulation(ctx.db, identity, urls[0], {
      agentsPerMinistry: AGENTS,
      approversPerMinistry: APPROVERS,
      pendingPerMinistry: PENDING,
    });
    if (WARMUP_SECONDS > 0)
      await driveLoad(urls, population, { rate: RATE, seconds: WARMUP_SECONDS, connections: CONNECTIONS });
    const loadBefore = load();
    const meter = ctx.pgDir ? cpuMeter(ctx.pgDir) : undefined;
    const cpu0 = [...apis.map((a) => a.child), ...workers].map((c) => processCpuMs(c.pid));
    const bar = progressBar(`${replicas} replica(s): ${RATE} req/s for ${SECONDS} s`, SECONDS);
    const report = await driveLoad(urls, population, {
      rate: RATE,
      seconds: SECONDS,
      connections: CONNECTIONS,
      onSecond: () => bar.tick(),
    });
    bar.done();
    const cpu = meter?.();
    const cpu1 = [...apis.map((a) => a.child), ...workers].map((c) => processCpuMs(c.pid));
    const percent = (from: number, to: number) =>
      Math.round(cpu1.slice(from, to).reduce((s, v, i) => s + v - cpu0[from + i], 0) / (report.seconds * 10));

    // Limits shared: one person, spread over every API process.
    const token = await mint(identity, 'demo-agent-culture');
    const limit = DEFAULT_RATE_LIMIT.perUser;
    const byReplica: Record<string, number> = {};
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < limit + 60; i++) {
      const url = urls[i % urls.length];
      const res = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.status === 200) {
        accepted++;
        byReplica[url] = (byReplica[url] ?? 0) + 1;
      } else if (res.status === 429) refused++;
    }

    // No duplicate push, once the workers have drained the rollout queues.
    const drainStart = Date.now();
    for (; workers.length > 0;) {
      const [{ open }] = (await ctx.db.query(
        `SELECT count(*)::int AS open FROM pgboss.job WHERE name LIKE 'rollout.%' AND state IN ('created', 'retry', 'active')`,
      )) as { open: number }[];
      if (open === 0 || Date.now() - drainStart > 120_000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const [{ total, duplicates }] = (await ctx.db.query(
      `SELECT coalesce(sum(n), 0)::int AS total, coalesce(sum(n - 1), 0)::int AS duplicates
         FROM (SELECT count(*) AS n FROM bench_push_log GROUP BY kind, platform, target, hash) t`,
    )) as { total: number; duplicates: number }[];
    const duplicated = (await ctx.db.query(
      `SELECT kind, platform, count(*)::int AS targets, sum(n - 1)::int AS extra FROM (
         SELECT kind, platform, count(*) AS n FROM bench_push_log GROUP BY kind, platform, target, hash HAVING count(*) > 1) d
       GROUP BY kind, platform`,
    )) as { kind: string; platform: string; targets: number; extra: number }[];
    if (duplicated.length > 0) console.log(`duplicate pushes: ${JSON.stringify(duplicated)}`);
    const perWorker = (await ctx.db.query(
      `SELECT pid, count(*)::int AS n FROM bench_push_log GROUP BY pid ORDER BY pid`,
    )) as { pid: number; n: number }[];
    return {
      replicas,
      report,
      cpuPercentOfOneCore: {
        apiProcesses: percent(0, apis.length),
        workers: percent(apis.length, apis.length + workers.length),
        loadGeneratorProcess: cpu?.nodeProcessPercent,
        postgres: cpu?.postgresPercent,
        machine: cpu?.machinePercent,
      },
      loadAverage: { before: loadBefore, after: load() },
      limit: { limit, sent: limit + 60, accepted, refused, byReplica },
      pushes: {
        total,
        duplicates,
        byWorker: perWorker.map((w) => w.n),
        drainedInSeconds: Math.round((Date.now() - drainStart) / 100) / 10,
      },
    };
  } finally {
    for (const a of apis) await stopService(a.child);
    for (const w of workers) await stopService(w);
    await idp.stop();
    await ctx.stop();
  }
}

async function main(): Promise<void> {
  const results: PhaseResult[] = [];
  for (const replicas of REPLICAS) {
    const result = await phase(replicas);
    results.push(result);
    const { report } = result;
    console.log(
      JSON.stringify(
        {
          replicas,
          target: {
            rate: RATE,
            seconds: SECONDS,
            connections: CONNECTIONS,
            agents: AGENTS * 4,
            approvers: APPROVERS * 4,
          },
          achieved: { requests: report.requests, requestsPerSecond: report.requestsPerSecond },
          latencyMs: report.latencyMs,
          statuses: report.statuses,
          non2xx: report.non2xx,
          serverErrors: report.serverErrors,
          requestErrors: report.requestErrors,
          firstRequestError: report.firstRequestError,
          writes: { created: report.created, decisions: report.decisions },
          byRequest: report.byRequest,
          cpuPercentOfOneCore: result.cpuPercentOfOneCore,
          loadAverage: result.loadAverage,
          rateLimitShared: result.limit,
          pushes: result.pushes,
        },
        null,
        2,
      ),
    );
  }
  console.log(
    '\nreplicas (API + workers)   p50     p95     p99     max   5xx  limit (accepted of sent)  duplicate pushes',
  );
  for (const r of results)
    console.log(
      `${`${r.replicas} + ${r.replicas}`.padEnd(24)} ${String(r.report.latencyMs.p50).padStart(6)} ${String(r.report.latencyMs.p95).padStart(7)} ${String(r.report.latencyMs.p99).padStart(7)} ${String(r.report.latencyMs.max).padStart(7)} ${String(r.report.serverErrors).padStart(5)}  ${`${r.limit.accepted} of ${r.limit.sent} (limit ${r.limit.limit})`.padEnd(24)}  ${r.pushes.duplicates} of ${r.pushes.total}`,
    );
  const failures = results.flatMap((r) => [
    ...(r.report.serverErrors > 0 || r.report.requestErrors > 0
      ? [`${r.replicas} replica(s): ${r.report.serverErrors} server errors, ${r.report.requestErrors} unanswered`]
      : []),
    ...(r.limit.accepted !== r.limit.limit
      ? [`${r.replicas} replica(s): ${r.limit.accepted} requests accepted for a limit of ${r.limit.limit}`]
      : []),
    ...(r.pushes.duplicates > 0 ? [`${r.replicas} replica(s): ${r.pushes.duplicates} duplicate pushes`] : []),
  ]);
  if (failures.length > 0) {
    console.error(`FAILED: ${failures.join('; ')}`);
    process.exit(1);
  }
  process.exit(0);
}

if (process.env.BENCH_ROLE === 'server') {
  serveInChild('service', serviceOptions);
} else if (process.env.BENCH_ROLE === 'worker') {
  workInChild();
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
