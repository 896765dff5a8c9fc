/**
 * `npm run bench -- load`: the API's capacity under mixed agent/approver traffic, beside a bare
 * NestJS handler measured in the same run, and its scale-out from one API process to two.
 *
 * Phases (LOAD_PHASES, default "bare,1,2"), each in its own child processes, one after the other:
 * - `bare`: a bare NestJS application (bench/bare-nest.ts: same Nest and Express, one trivial GET
 *   handler, no database, no logger), driven with `GET /bare` by the same generator;
 * - `1`, `2`…: the service as production runs it with that many API processes (createApp, production
 *   rate limits, worker off) and LOAD_WORKERS worker processes (default 1, so that the phases differ
 *   only by their API processes), each on a fresh embedded PostgreSQL (or DATABASE_URL) loaded with
 *   the policies and demo data, logged in as the service login, trusting the loopback OIDC provider;
 * - `before`: like `1`, but the API process is the service of another checkout (LOAD_BEFORE_TREE, a
 *   git worktree of an earlier commit with node_modules linked): before/after in one run.
 *
 * Each phase:
 * 1. Rate sweep (open loop, bench/load-traffic.ts): LOAD_STEP_SECONDS (default 10) at
 *    LOAD_SWEEP_FROM requests/s (default 50), then × LOAD_SWEEP_FACTOR (default 1.5) while the step
 *    passes, then LOAD_SWEEP_REFINE (default 3) bisections between the last rate that passed and the
 *    first that failed. A step passes with p99 < LOAD_P99_MS (default 200) and no 5xx nor unanswered
 *    request; a step that fails is run once more (LOAD_STEP_RETRIES, default 1) before it counts. Capacity: the highest rate that passed. (LOAD_RATE=<n>: one step of LOAD_SECONDS at
 *    that rate instead of the sweep.)
 * 2. CPU per request at a fixed rate (LOAD_CPU_RATE, default 100/s, LOAD_CPU_SECONDS, default 15):
 *    CPU time of the API process(es) (/proc/<pid>/stat) divided by the requests answered, for the
 *    mixed traffic, then `GET /me` alone and the approver queue (`GET /ministries/:code/exemptions?status=pending`)
 *    alone; with PostgreSQL's and the load generator's CPU beside it.
 * 3. (service phases) Limits shared: one more person sends RATE_LIMIT_PER_USER + 60 requests spread
 *    over every API process; exactly the limit must get through. No duplicate push: once the queues
 *    are drained, no (platform, policy or device, hash) was pushed twice.
 *
 * LOAD_AGENTS agents per ministry (default 500, 2,000 in all, each with a phone), LOAD_APPROVERS
 * approvers per ministry (default 5), LOAD_PENDING pending requests per ministry (default 200),
 * LOAD_CONNECTIONS at most (default 50), spread over the API processes. LOAD_CPU_PROFILE=<folder>:
 * the API processes run with `node --cpu-prof` and write their profiles there when they stop.
 * Prints a JSON report per phase, then a table with each figure beside the bare handler's and the
 * ratios (capacity of N processes / 1). Exits 1 on a 5xx during the CPU runs, a limit not shared or
 * a duplicate push.
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
import { BARE_PATH, serveBareInChild } from './bare-nest';
import { driveLoad, LoadPopulation, LoadReport, mint, PlannedRequest, seedLoadPopulation } from './load-traffic';
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

const env = process.env;
/** Set: one step at this rate instead of the sweep. */
const FIXED_RATE = env.LOAD_RATE === undefined ? undefined : Number(env.LOAD_RATE);
const SECONDS = Number(env.LOAD_SECONDS ?? 60);
const STEP_SECONDS = Number(env.LOAD_STEP_SECONDS ?? 10);
const SWEEP_FROM = Number(env.LOAD_SWEEP_FROM ?? 50);
const SWEEP_FACTOR = Number(env.LOAD_SWEEP_FACTOR ?? 1.5);
const SWEEP_REFINE = Number(env.LOAD_SWEEP_REFINE ?? 3);
const SWEEP_MAX = Number(env.LOAD_SWEEP_MAX ?? 20_000);
const P99_LIMIT_MS = Number(env.LOAD_P99_MS ?? 200);
const CPU_RATE = Number(env.LOAD_CPU_RATE ?? 100);
const CPU_SECONDS = Number(env.LOAD_CPU_SECONDS ?? 15);
const WARMUP_SECONDS = Number(env.LOAD_WARMUP_SECONDS ?? 3);
const CONNECTIONS = Number(env.LOAD_CONNECTIONS ?? 50);
const AGENTS = Number(env.LOAD_AGENTS ?? 500);
const APPROVERS = Number(env.LOAD_APPROVERS ?? 5);
const PENDING = Number(env.LOAD_PENDING ?? 200);
const PHASES = (env.LOAD_PHASES ?? env.LOAD_REPLICAS ?? 'bare,1,2').split(',').map((p) => p.trim());
const WORKERS = Number(env.LOAD_WORKERS ?? 1);
const BEFORE_TREE = env.LOAD_BEFORE_TREE ? resolve(env.LOAD_BEFORE_TREE) : undefined;
const CPU_PROFILE_DIR = env.LOAD_CPU_PROFILE ? resolve(env.LOAD_CPU_PROFILE) : undefined;
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
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Drives one step: `rate` requests/s for `seconds`, the bar ticking once a second. */
type Driver = (rate: number, seconds: number, onSecond?: () => void) => Promise<LoadReport>;

interface SweepStep {
  rate: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  serverErrors: number;
  unanswered: number;
  passed: boolean;
}

function passes(r: LoadReport): boolean {
  return r.latencyMs.p99 < P99_LIMIT_MS && r.serverErrors === 0 && r.requestErrors === 0;
}

/** A failed step is run again this many times before it counts as failed: one stall of another process on a shared machine fails a 10 s step. */
const STEP_RETRIES = Number(env.LOAD_STEP_RETRIES ?? 1);

async function step(label: string, drive: Driver, rate: number, seconds: number): Promise<SweepStep> {
  let s = await stepOnce(label, drive, rate, seconds);
  for (let retry = 0; retry < STEP_RETRIES && !s.passed; retry++)
    s = await stepOnce(`${label} again`, drive, rate, seconds);
  return s;
}

async function stepOnce(label: string, drive: Driver, rate: number, seconds: number): Promise<SweepStep> {
  const bar = progressBar(`${label}: ${rate}/s`, seconds);
  const r = await drive(rate, seconds, () => bar.tick());
  bar.done();
  const s: SweepStep = {
    rate,
    achieved: r.requestsPerSecond,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    max: r.latencyMs.max,
    serverErrors: r.serverErrors,
    unanswered: r.requestErrors,
    passed: passes(r),
  };
  console.error(
    `  ${label} ${rate}/s: p50 ${s.p50} ms, p99 ${s.p99} ms, ${s.serverErrors} × 5xx, ${s.unanswered} unanswered: ${s.passed ? 'passes' : 'fails'}`,
  );
  return s;
}

/** The highest rate with p99 < LOAD_P99_MS and no error: geometric steps up, then bisection. */
async function sweep(label: string, drive: Driver): Promise<{ capacity: number; steps: SweepStep[] }> {
  const steps: SweepStep[] = [];
  if (FIXED_RATE !== undefined) {
    const s = await step(label, drive, FIXED_RATE, SECONDS);
    return { capacity: s.passed ? FIXED_RATE : 0, steps: [s] };
  }
  let passed = 0;
  let failed: number | undefined;
  for (let rate = SWEEP_FROM; rate <= SWEEP_MAX; rate = Math.round(rate * SWEEP_FACTOR)) {
    const s = await step(label, drive, rate, STEP_SECONDS);
    steps.push(s);
    if (!s.passed) {
      failed = rate;
      break;
    }
    passed = rate;
  }
  for (let i = 0; i < SWEEP_REFINE && failed !== undefined; i++) {
    const rate = Math.round(Math.sqrt(Math.max(passed, 1) * failed));
    if (rate <= passed || rate >= failed) break;
    const s = await step(label, drive, rate, STEP_SECONDS);
    steps.push(s);
    if (s.passed) passed = rate;
    else failed = rate;
  }
  return { capacity: passed, steps };
}

interface CpuRun {
  traffic: string;
  rate: number;
  requests: number;
  p50: number;
  p99: number;
  serverErrors: number;
  firstRequestError?: string;
  /** CPU ms of the API process(es) (or the bare server) per answered request. */
  apiCpuMsPerRequest: number;
  postgresCpuMsPerRequest?: number;
  generatorCpuMsPerRequest: number;
  cpuPercentOfOneCore: { api: number; workers?: number; postgres?: number; generator: number; machine?: number };
}

/** CPU per request at CPU_RATE: the servers' CPU time from /proc, PostgreSQL's, this process's (the generator). */
async function cpuRun(
  traffic: string,
  drive: Driver,
  servers: (number | undefined)[],
  workers: (number | undefined)[],
  pgDir: string | undefined,
): Promise<CpuRun> {
  const meter = pgDir ? cpuMeter(pgDir) : undefined;
  const gen0 = process.cpuUsage();
  const s0 = servers.map(processCpuMs);
  const w0 = workers.map(processCpuMs);
  const t0 = performance.now();
  const bar = progressBar(`CPU, ${traffic}: ${CPU_RATE}/s`, CPU_SECONDS);
  const r = await drive(CPU_RATE, CPU_SECONDS, () => bar.tick());
  bar.done();
  const wallMs = performance.now() - t0;
  const gen = process.cpuUsage(gen0);
  const genMs = (gen.user + gen.system) / 1000;
  const apiMs = servers.reduce((sum: number, pid, i) => sum + processCpuMs(pid) - s0[i], 0);
  const workerMs = workers.reduce((sum: number, pid, i) => sum + processCpuMs(pid) - w0[i], 0);
  const use = meter?.();
  const pgMs = use ? (use.postgresPercent / 100) * wallMs : undefined;
  const n = Math.max(1, r.requests);
  return {
    traffic,
    rate: CPU_RATE,
    requests: r.requests,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    serverErrors: r.serverErrors + r.requestErrors,
    firstRequestError: r.firstRequestError,
    apiCpuMsPerRequest: Math.round((apiMs / n) * 100) / 100,
    postgresCpuMsPerRequest: pgMs === undefined ? undefined : Math.round((pgMs / n) * 100) / 100,
    generatorCpuMsPerRequest: Math.round((genMs / n) * 100) / 100,
    cpuPercentOfOneCore: {
      api: Math.round((apiMs / wallMs) * 100),
      ...(workers.length > 0 ? { workers: Math.round((workerMs / wallMs) * 100) } : {}),
      postgres: use?.postgresPercent,
      generator: Math.round((genMs / wallMs) * 100),
      machine: use?.machinePercent,
    },
  };
}

interface PhaseResult {
  phase: string;
  apiProcesses: number;
  capacity: number;
  steps: SweepStep[];
  cpu: CpuRun[];
  loadAverage: { before: number[]; after: number[] };
  limit?: { limit: number; sent: number; accepted: number; refused: number; byReplica: Record<string, number> };
  pushes?: { total: number; duplicates: number; byWorker: number[]; drainedInSeconds: number };
}

/** The bare NestJS handler: the same generator, `GET /bare` (with a bearer header, as the service's requests carry one). */
async function barePhase(): Promise<PhaseResult> {
  const loadBefore = load();
  const bare = await forkService(join(__dirname, 'load.bench.ts'), 'bare', {});
  try {
    const empty: LoadPopulation = { agents: [], approvers: [], exemptable: new Map(), pending: new Map() };
    const request: PlannedRequest = { method: 'GET', path: BARE_PATH, headers: { authorization: 'Bearer bare' } };
    const drive: Driver = (rate, seconds, onSecond) =>
      driveLoad([bare.url], empty, {
        rate,
        seconds,
        connections: CONNECTIONS,
        onSecond,
        only: () => ({ kind: `GET ${BARE_PATH}`, request }),
      });
    await drive(CPU_RATE, WARMUP_SECONDS);
    const cpu = [await cpuRun('bare GET', drive, [bare.child.pid], [], undefined)];
    const { capacity, steps } = await sweep('bare NestJS', drive);
    return { phase: 'bare', apiProcesses: 1, capacity, steps, cpu, loadAverage: { before: loadBefore, after: load() } };
  } finally {
    await stopService(bare.child);
  }
}

async function servicePhase(phase: string): Promise<PhaseResult> {
  const before = phase === 'before';
  const replicas = before ? 1 : Number(phase);
  if (!(replicas >= 1))
    throw new Error(`LOAD_PHASES: "${phase}" is neither bare, before nor a number of API processes`);
  const serverFile = before ? join(BEFORE_TREE ?? '', 'bench/load.bench.ts') : __filename;
  if (before && (!BEFORE_TREE || !existsSync(serverFile)))
    throw new Error('LOAD_PHASES has "before": set LOAD_BEFORE_TREE to a checkout of the earlier commit');
  const ctx = await benchContext(`mdm_bench_load_${phase}`);
  const idp = await startDevIdp({ audience: AUDIENCE });
  const apis: { url: string; child: ChildProcess }[] = [];
  const workers: ChildProcess[] = [];
  const loadBefore = load();
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
    let profileArgs: string[] = [];
    if (CPU_PROFILE_DIR) {
      const dir = join(CPU_PROFILE_DIR, phase);
      mkdirSync(dir, { recursive: true });
      profileArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    }
    for (let i = 0; i < replicas; i++) apis.push(await forkService(serverFile, 'server', config, profileArgs));
    for (let i = 0; i < WORKERS; i++) workers.push((await forkService(__filename, 'worker', config)).child);
    const urls = apis.map((a) => a.url);
    const privateJwk = (JSON.parse(readFileSync(idp.jwksOutPath, 'utf8')) as { keys: JWK[] }).keys[0];
    const identity = { issuer: idp.issuer, audience: AUDIENCE, privateJwk };
    const population = await seedLoadPopulation(ctx.db, identity, urls[0], {
      agentsPerMinistry: AGENTS,
      approversPerMinistry: APPROVERS,
      pendingPerMinistry: PENDING,
    });
    const mixed: Driver = (rate, seconds, onSecond) =>
      driveLoad(urls, population, { rate, seconds, connections: CONNECTIONS, onSecond });
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const me: Driver = (rate, seconds, onSecond) =>
      driveLoad(urls, population, {
        rate,
        seconds,
        connections: CONNECTIONS,
        onSecond,
        only: (n) => ({
          kind: 'GET /me',
          request: { method: 'GET', path: '/me', headers: auth(population.agents[n % population.agents.length].token) },
        }),
      });
    const queue: Driver = (rate, seconds, onSecond) =>
      driveLoad(urls, population, {
        rate,
        seconds,
        connections: CONNECTIONS,
        onSecond,
        only: (n) => {
          const approver = population.approvers[n % population.approvers.length];
          return {
            kind: 'GET /ministries/:code/exemptions',
            request: {
              method: 'GET',
              path: `/ministries/${approver.ministry}/exemptions?status=pending`,
              headers: auth(approver.token),
            },
          };
        },
      });
    if (WARMUP_SECONDS > 0) await mixed(CPU_RATE, WARMUP_SECONDS);
    const pids = apis.map((a) => a.child.pid);
    const workerPids = workers.map((w) => w.pid);
    const cpu = [
      await cpuRun('mixed', mixed, pids, workerPids, ctx.pgDir),
      await cpuRun('GET /me', me, pids, workerPids, ctx.pgDir),
      await cpuRun('approver queue', queue, pids, workerPids, ctx.pgDir),
    ];
    const { capacity, steps } = await sweep(`${before ? 'before, ' : ''}${replicas} API`, mixed);

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
    const perWorker = (await ctx.db.query(
      `SELECT pid, count(*)::int AS n FROM bench_push_log GROUP BY pid ORDER BY pid`,
    )) as { pid: number; n: number }[];
    return {
      phase,
      apiProcesses: replicas,
      capacity,
      steps,
      cpu,
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
  const startedAt = new Date().toISOString();
  const results: PhaseResult[] = [];
  for (const phase of PHASES) {
    const result = phase === 'bare' ? await barePhase() : await servicePhase(phase);
    results.push(result);
    console.log(JSON.stringify(result, null, 2));
  }
  const bare = results.find((r) => r.phase === 'bare');
  const one = results.find((r) => r.phase === '1');
  const cpuOf = (r: PhaseResult | undefined, traffic: string) => r?.cpu.find((c) => c.traffic === traffic);
  console.log(
    `\nnpm run bench -- load, started ${startedAt}, load average ${results[0]?.loadAverage.before.join(' ')} at start; ` +
      `sweep ${FIXED_RATE === undefined ? `from ${SWEEP_FROM}/s × ${SWEEP_FACTOR}, ${SWEEP_REFINE} bisections, ${STEP_SECONDS} s a step` : `fixed ${FIXED_RATE}/s for ${SECONDS} s`}, ` +
      `pass: p99 < ${P99_LIMIT_MS} ms and no error; ${CONNECTIONS} connections at most; ${WORKERS} worker process(es)`,
  );
  console.log(
    '\nphase        capacity (req/s)  / bare   / 1 API   load avg   CPU ms/request at ' +
      `${CPU_RATE}/s: mixed  GET /me  queue  (bare)   limit (accepted of sent)  duplicate pushes`,
  );
  for (const r of results) {
    const mixed = cpuOf(r, 'mixed') ?? cpuOf(r, 'bare GET');
    console.log(
      [
        r.phase.padEnd(12),
        String(r.capacity).padStart(16),
        (bare && r !== bare ? String(round3(r.capacity / Math.max(1, bare.capacity))) : '').padStart(8),
        (one && r.phase !== 'bare' ? String(round3(r.capacity / Math.max(1, one.capacity))) : '').padStart(8),
        r.loadAverage.before[0].toFixed(2).padStart(10),
        String(mixed?.apiCpuMsPerRequest ?? '').padStart(28),
        String(cpuOf(r, 'GET /me')?.apiCpuMsPerRequest ?? '').padStart(8),
        String(cpuOf(r, 'approver queue')?.apiCpuMsPerRequest ?? '').padStart(6),
        String(cpuOf(bare, 'bare GET')?.apiCpuMsPerRequest ?? '').padStart(8),
        (r.limit ? `${r.limit.accepted} of ${r.limit.sent} (limit ${r.limit.limit})` : '').padStart(26),
        (r.pushes ? `${r.pushes.duplicates} of ${r.pushes.total}` : '').padStart(18),
      ].join(' '),
    );
  }
  const failures = results.flatMap((r) => [
    // The bare handler's unanswered requests (a keep-alive race of the generator) are shown, not a failure of the service.
    ...r.cpu
      .filter((c) => c.serverErrors > 0 && r.phase !== 'bare')
      .map((c) => `${r.phase}: ${c.serverErrors} errors at ${c.rate}/s (${c.traffic})`),
    ...(r.limit && r.limit.accepted !== r.limit.limit
      ? [`${r.phase}: ${r.limit.accepted} requests accepted for a limit of ${r.limit.limit}`]
      : []),
    ...(r.pushes && r.pushes.duplicates > 0 ? [`${r.phase}: ${r.pushes.duplicates} duplicate pushes`] : []),
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
} else if (process.env.BENCH_ROLE === 'bare') {
  serveBareInChild();
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
