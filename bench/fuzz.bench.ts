/**
 * `npm run bench -- fuzz`: the long hostile-input run. The same generators as the CI tests
 * (api/test/fuzz-*.e2e-spec.ts), many more cases: FUZZ_CASES (default 100,000) spread over the
 * JSON API (50 %), the Apple MDM channels (30 %), YAML plans through the API (10 %) and the policy
 * YAML loader function (10 %), on one service (real PostgreSQL, the dev OIDC provider, the fake
 * Android Management API), in-process over supertest with FUZZ_CONCURRENCY (default 6) requests in
 * flight. FUZZ_SEED changes the cases. Then FUZZ_CPU_ATTACK (default 2,000) bodies made to hold the
 * event loop (YAML and signed plists nested as deep as the body limit allows, flat ones with more
 * entries than any real document). /health is probed every 100 ms throughout: its latency per
 * target is in the report.
 *
 * Reports per target: cases, cases/s, the outcome by status code, and every property violated (a
 * 5xx, a refusal without a JSON message, a defective request accepted), then whether /health still
 * answers and whether the database is byte for byte what it was (exit code 1 otherwise).
 */
import fc from 'fast-check';
import type { Server } from 'node:http';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseYaml } from '../api/src/policies/as-code/policy-files';
import { validateAgainst } from '../api/src/policies/as-code/schema-validator';
import {
  apiCases,
  databaseFingerprint,
  emptyStats,
  FuzzRequest,
  FuzzStats,
  healthy,
  mergeStats,
  runCases,
} from '../api/test/support/fuzz';
import {
  API_ENDPOINTS,
  APPLE_VOLATILE,
  appleCases,
  cpuAttackCases,
  FuzzHost,
  LOGIN_STATE,
  prepareApiFixtures,
  prepareAppleFixtures,
  tokensFor,
  yamlFileMutation,
  yamlPlanCases,
} from '../api/test/support/fuzz-targets';
import globalSetup from '../api/test/support/global-setup';
import globalTeardown from '../api/test/support/global-teardown';
import { BODY_LIMIT_BYTES, startTestApp } from '../api/test/support/test-app';
import { startFakeAmapi } from '../tools/fake-amapi/fake-amapi';
import { progressBar, summary } from './support';
import { fakeAmapiSettings } from '../api/test/support/fake-amapi-settings';

const TOTAL = Number(process.env.FUZZ_CASES ?? 100_000);
/** Bodies made to hold the event loop (deep or huge YAML and plists), on top of TOTAL. */
const CPU_ATTACK = Number(process.env.FUZZ_CPU_ATTACK ?? 2_000);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 6);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_000);
/** Cases are generated batch by batch: bodies reach 200 KB, 100,000 of them would not fit in memory. */
const BATCH = 1000;

interface TargetReport {
  name: string;
  stats: FuzzStats;
  seconds: number;
  /** /health answered while the target ran (ms): probed every 100 ms from the same process. */
  health?: { n: number; p50: number; p99: number; max: number };
}

/**
 * /health every 100 ms while the cases run, timed from the same event loop as the service (the
 * bench drives it in-process): what a load balancer's probe sees, held back by any body that holds
 * the loop.
 */
function probeHealth(server: Server): () => Promise<TargetReport['health']> {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const start = process.hrtime.bigint();
      await request(server).get('/health');
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
    const s = summary(samples);
    return { n: s.n, p50: s.p50, p99: s.p99, max: s.max };
  };
}

async function runTarget(
  name: string,
  total: number,
  make: (n: number, seed: number) => FuzzRequest[],
  host: FuzzHost,
  tokens: Map<string, string>,
  batchSize = BATCH,
): Promise<TargetReport> {
  const bar = progressBar(name, total);
  const stats = emptyStats();
  const start = process.hrtime.bigint();
  const health = probeHealth(host.server);
  for (let done = 0, batch = 0; done < total; batch++) {
    const n = Math.min(batchSize, total - done);
    mergeStats(stats, await runCases(host.server, tokens, make(n, SEED + batch), CONCURRENCY, () => bar.tick()));
    done += n;
  }
  bar.done();
  return { name, stats, seconds: Number(process.hrtime.bigint() - start) / 1e9, health: await health() };
}

/** The loader function alone (no HTTP): parseYaml + the ministry schema, on damaged ministry files. */
function runLoader(total: number): TargetReport {
  const file = readFileSync(join(resolve(__dirname, '../policies'), 'ministries', 'interieur.yaml'), 'utf8');
  const bar = progressBar('policy YAML loader', total);
  const stats = emptyStats();
  const start = process.hrtime.bigint();
  for (let done = 0, batch = 0; done < total; batch++) {
    const n = Math.min(BATCH, total - done);
    for (const m of fc.sample(yamlFileMutation, { numRuns: n, seed: SEED + batch })) {
      let outcome: string;
      try {
        const { parsed, problems } = parseYaml('interieur.yaml', m.apply(file));
        const found = parsed ? validateAgainst('ministry', parsed.value) : problems;
        outcome = found.length > 0 ? 'refused' : 'loaded';
        if (m.mustRefuse && found.length === 0)
          stats.failures.push({
            target: 'loader',
            defect: m.label,
            request: '',
            status: 0,
            problem: 'a defective file was loaded',
            answer: '',
          });
      } catch (e) {
        outcome = 'threw';
        stats.failures.push({
          target: 'loader',
          defect: m.label,
          request: '',
          status: 0,
          problem: `threw ${(e as Error).message.slice(0, 200)}`,
          answer: '',
        });
      }
      stats.cases++;
      stats.byStatus[outcome] = (stats.byStatus[outcome] ?? 0) + 1;
      bar.tick();
    }
    done += n;
  }
  bar.done();
  return { name: 'policy YAML loader (function)', stats, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function main(): Promise<void> {
  await globalSetup();
  const fake = await startFakeAmapi({
    enterprises: ['enterprises/LC0interieur'],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  const t = await startTestApp({
    listen: true,
    browserLogin: { publicUrl: 'http://127.0.0.1:3000' },
    apple: {
      serverBaseUrl: 'http://127.0.0.1:9',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
    android: fakeAmapiSettings(fake, { quotaPer100s: 1_000_000 }),
  });
  let failed: boolean;
  try {
    const host: FuzzHost = { server: t.app.getHttpServer() as Server, db: t.db, token: t.token };
    const tokens = await tokensFor(host);
    const apple = await prepareAppleFixtures(host, tokens);
    const fixtures = await prepareApiFixtures(host, tokens);
    const ignore = { ...LOGIN_STATE, ...APPLE_VOLATILE };
    const before = await databaseFingerprint(t.db, ignore);
    console.log(`fuzz: ${TOTAL} cases, seed ${SEED}, ${CONCURRENCY} in flight`);

    const reports = [
      await runTarget(
        'JSON API',
        Math.round(TOTAL * 0.5),
        (n, seed) => apiCases(API_ENDPOINTS, fixtures, n, seed),
        host,
        tokens,
      ),
      await runTarget('Apple MDM', Math.round(TOTAL * 0.3), (n, seed) => appleCases(apple, n, seed), host, tokens),
      await runTarget(
        'YAML plans (API)',
        Math.round(TOTAL * 0.1),
        (n, seed) => yamlPlanCases(fixtures, n, seed),
        host,
        tokens,
      ),
      runLoader(TOTAL - Math.round(TOTAL * 0.5) - Math.round(TOTAL * 0.3) - Math.round(TOTAL * 0.1)),
      await runTarget(
        'CPU attack (deep/huge bodies)',
        CPU_ATTACK,
        (n) => cpuAttackCases(fixtures, apple, BODY_LIMIT_BYTES, n),
        host,
        tokens,
        // Bodies of 200 KB: 50 at a time, so that the generator's own memory does not weigh on the measure.
        50,
      ),
    ];
    const up = await healthy(host.server);
    const unchanged = JSON.stringify(await databaseFingerprint(t.db, ignore)) === JSON.stringify(before);

    console.log('\ntarget                          cases   cases/s  /health p50 / p99 / max ms  outcomes');
    for (const r of reports) {
      const outcomes = Object.entries(r.stats.byStatus)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ');
      const health = r.health ? `${r.health.p50} / ${r.health.p99} / ${r.health.max}` : '(no HTTP)';
      console.log(
        `${r.name.padEnd(30)} ${String(r.stats.cases).padStart(7)} ${String(Math.round(r.stats.cases / r.seconds)).padStart(9)}  ${health.padEnd(26)}  ${outcomes}`,
      );
    }
    const all = reports.reduce((acc, r) => mergeStats(acc, r.stats), emptyStats());
    const fiveHundreds = Object.entries(all.byStatus)
      .filter(([s]) => Number(s) >= 500)
      .reduce((n, [, c]) => n + c, 0);
    console.log(
      `\ntotal ${all.cases} cases in ${reports.reduce((s, r) => s + r.seconds, 0).toFixed(1)} s; 5xx: ${fiveHundreds}; properties violated: ${all.failures.length}; /health after: ${up ? 'up' : 'DOWN'}; database unchanged: ${unchanged ? 'yes' : 'NO'}`,
    );
    for (const f of all.failures.slice(0, 20))
      console.log(
        `  ✗ [${f.target}] ${f.problem} — ${f.defect}\n    ${f.request.slice(0, 300)}\n    → ${f.answer.slice(0, 200)}`,
      );
    failed = all.failures.length > 0 || !up || !unchanged;
  } finally {
    await t.close();
    await fake.stop();
    await globalTeardown();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
