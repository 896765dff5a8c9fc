/**
 * `npm run bench -- load`: the API under mixed agent/approver traffic at a fixed rate.
 *
 * The service runs as `npm start` does (createApp, production rate limits, worker off: the job
 * consumers are their own process in production) in a child process on 127.0.0.1, on an embedded
 * PostgreSQL (or DATABASE_URL) loaded with the policies and demo data, trusting the loopback OIDC
 * provider (tools/dev-idp). LOAD_AGENTS agents per ministry (default 500, 2,000 in all, each with
 * a phone) and LOAD_APPROVERS approvers per ministry (default 5) get real access tokens signed with
 * the provider's key; LOAD_PENDING pending requests per ministry (default 200) start the queues.
 * bench/load-traffic.ts describes the traffic (an open-loop, evenly paced generator in this process,
 * at most LOAD_CONNECTIONS connections, default 50). After a LOAD_WARMUP_SECONDS (default 3) warm-up at the same rate, it
 * drives LOAD_RATE requests/s (default 300) for LOAD_SECONDS (default 60) and reports latency
 * percentiles, requests/s, statuses (per kind of request) and CPU use. Exits 1 on any 5xx or
 * unanswered request.
 */
import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { JWK } from 'jose';
import { CreateAppOptions } from '../api/src/app.factory';
import { DEFAULT_RATE_LIMIT } from '../api/src/security/rate-limit-settings';
import { startDevIdp } from '../api/test/support/dev-idp';
import { driveLoad, LoadReport, seedLoadPopulation } from './load-traffic';
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
const AUDIENCE = 'mdm-apps-api';

interface ServerConfig {
  databaseUrl: string;
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

const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<void> {
  const ctx = await benchContext('mdm_bench_load');
  const idp = await startDevIdp({ audience: AUDIENCE });
  let server: { url: string; child: ChildProcess } | undefined;
  let report: LoadReport | undefined;
  try {
    server = await forkService(__filename, 'server', {
      databaseUrl: ctx.url,
      issuer: idp.issuer,
    } satisfies ServerConfig);
    const privateJwk = (JSON.parse(readFileSync(idp.jwksOutPath, 'utf8')) as { keys: JWK[] }).keys[0];
    const population = await seedLoadPopulation(
      ctx.db,
      { issuer: idp.issuer, audience: AUDIENCE, privateJwk },
      server.url,
      {
        agentsPerMinistry: AGENTS,
        approversPerMinistry: APPROVERS,
        pendingPerMinistry: PENDING,
      },
    );
    if (WARMUP_SECONDS > 0)
      await driveLoad(server.url, population, { rate: RATE, seconds: WARMUP_SECONDS, connections: CONNECTIONS });
    const loadBefore = load();
    const meter = ctx.pgDir ? cpuMeter(ctx.pgDir) : undefined;
    const serviceCpu0 = processCpuMs(server.child.pid);
    const bar = progressBar(`${RATE} req/s for ${SECONDS} s`, SECONDS);
    report = await driveLoad(server.url, population, {
      rate: RATE,
      seconds: SECONDS,
      connections: CONNECTIONS,
      onSecond: () => bar.tick(),
    });
    bar.done();
    const cpu = meter?.();
    const serviceCpuPercent = Math.round(
      ((processCpuMs(server.child.pid) - serviceCpu0) / (report.seconds * 1000)) * 100,
    );
    console.log(
      JSON.stringify(
        {
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
          cpuPercentOfOneCore: {
            service: serviceCpuPercent,
            loadGeneratorProcess: cpu?.nodeProcessPercent,
            postgres: cpu?.postgresPercent,
            machine: cpu?.machinePercent,
          },
          loadAverage: { before: loadBefore, after: load() },
        },
        null,
        2,
      ),
    );
  } finally {
    if (server) await stopService(server.child);
    await idp.stop();
    await ctx.stop();
  }
  if (!report || report.serverErrors > 0 || report.requestErrors > 0) {
    console.error(
      `FAILED: ${report?.serverErrors ?? '?'} server errors (5xx), ${report?.requestErrors ?? '?'} requests without an answer`,
    );
    process.exit(1);
  }
  process.exit(0);
}

if (process.env.BENCH_ROLE === 'server') {
  serveInChild('service', serviceOptions);
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
