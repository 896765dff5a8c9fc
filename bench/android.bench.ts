import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { AuditService } from '../api/src/audit/audit.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { DirectoryService } from '../api/src/directory/directory.service';
import { ExemptionsService } from '../api/src/exemptions/exemptions.service';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { PolicyPlanService } from '../api/src/policies/policy-plan.service';
import { PolicyStateService } from '../api/src/policies/policy-state.service';
import { PolicyGroupService } from '../api/src/rollout/policy-group.service';
import { RolloutEngine } from '../api/src/rollout/rollout-engine.service';
import { WorkerService } from '../api/src/worker/worker.service';
import { AndroidPubsubPullService } from '../api/src/android/android-pubsub-pull.service';
import { startFakeAmapi } from '../tools/fake-amapi/fake-amapi';
import { FakePubsub, FakeSubscription, startFakePubsub } from '../tools/fake-pubsub/fake-pubsub';
import { benchAppOptions, progressBar } from './support';

const DEVICES = Number(process.env.ANDROID_DEVICES ?? 100_000);
const DECISIONS = Number(process.env.ANDROID_DECISIONS ?? 1000);
const LATENCY_MS = Number(process.env.AMAPI_LATENCY_MS ?? 50);
/** Share of phones switched off (they neither apply nor report). */
const OFFLINE_PERCENT = Number(process.env.ANDROID_OFFLINE_PERCENT ?? 15);
/** The project's AMAPI quota (requests per 100 s), as AMAPI_QUOTA_PER_100S: Google's published 1,000 by default. */
const QUOTA_PER_100S = Number(process.env.AMAPI_QUOTA_PER_100S ?? 1000);
/** How long calls are still watched after convergence (the retry loop runs every minute). */
const OBSERVE_SECONDS = Number(process.env.ANDROID_OBSERVE_SECONDS ?? 150);
/** A bench that does not converge stops with the phones that did not, after this many seconds. */
const CONVERGENCE_LIMIT_S = Number(process.env.ANDROID_CONVERGENCE_LIMIT_S ?? 600);
const SUBSCRIPTION = 'projects/bench-project/subscriptions/amapi-reports';
/** Phone number `g` of the seed (device name …/devices/d<g>) is switched off. */
const offline = (g: number) => g % 100 < OFFLINE_PERCENT;
const ONLINE_SQL = `(regexp_replace(d.android_device_name, '^.*/devices/d', ''))::int % 100 >= ${OFFLINE_PERCENT}`;
const MINISTRIES = ['armees', 'culture', 'economie', 'interieur'];
const EXEMPTABLE = ['tiktok', 'x', 'instagram', 'facebook', 'snapchat', 'zoom', 'webex', 'whatsapp', 'signal'];

async function count(db: DataSource, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.query(sql, params))[0].n);
}

function callsByKind(requests: { method: string; path: string; status: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    const kind = `${r.method} ${r.path
      .replace(/^\/v1\//, '')
      .replace(/enterprises\/[^/]+/, 'enterprises/E')
      .replace(
        /\/(policies|devices|webApps|enrollmentTokens)\/[^/?]+/,
        '/$1/*',
      )}${r.status >= 400 || r.status === 0 ? ` (${r.status})` : ''}`;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

async function waitConverged(
  db: DataSource,
  label: string,
  total: number,
  explain: (names: string[]) => unknown = () => undefined,
): Promise<number> {
  const started = Date.now();
  const bar = progressBar(label, total);
  let last = 0;
  for (;;) {
    const converged = await count(
      db,
      `SELECT count(*) AS n FROM device d JOIN policy_group g ON g.id = d.group_id WHERE d.platform = 'android' AND d.applied_hash = g.desired_hash AND d.unenrolled_at IS NULL AND ${ONLINE_SQL}`,
    );
    bar.tick(converged - last);
    last = converged;
    if (converged >= total) break;
    if (Date.now() - started > CONVERGENCE_LIMIT_S * 1000) {
      const stuck = await db.query(
        `SELECT d.android_device_name, d.group_id, d.bound_policy, d.push_state, d.push_error, d.applied_hash = g.desired_hash AS converged,
                d.android_report_time, g.desired_hash, d.applied_hash
           FROM device d JOIN policy_group g ON g.id = d.group_id
          WHERE d.applied_hash IS DISTINCT FROM g.desired_hash AND ${ONLINE_SQL} LIMIT 5`,
      );
      throw new Error(
        `${label}: not converged after ${CONVERGENCE_LIMIT_S} s (${converged}/${total}); for example ${JSON.stringify(stuck, null, 1)}; ${JSON.stringify(explain(stuck.map((d: { android_device_name: string }) => d.android_device_name)), null, 1)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  bar.done();
  return (Date.now() - started) / 1000;
}

/** Phone names the fake reports for, and the rows a bare batched write of their reports would write. */
interface BareRow {
  name: string;
  report_time: string;
  installed: { id: string; version?: string }[];
  os_version: string | null;
  policy_errors: string[];
}

/** The same facts as the pipeline, written with nothing else: UPDATE … FROM jsonb_to_recordset, 1,000 rows a statement. */
async function bareUpsert(db: DataSource, rows: BareRow[]): Promise<number> {
  const bar = progressBar('bare batched upsert', rows.length);
  const started = Date.now();
  for (let i = 0; i < rows.length; i += 1000) {
    const page = rows.slice(i, i + 1000);
    await db.query(
      `UPDATE device d SET installed_apps = v.installed, os_version = v.os_version, policy_errors = v.policy_errors,
              android_report_time = v.report_time, supervised = true, last_seen_at = now(), reported_at = now()
         FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(name text, report_time timestamptz, installed jsonb,
                                                                 os_version text, policy_errors text[]) ORDER BY name) v
        WHERE d.android_device_name = v.name`,
      [JSON.stringify(page)],
    );
    bar.tick(page.length);
  }
  bar.done();
  return rows.length / ((Date.now() - started) / 1000);
}

/** Drains the subscription with the service's pull loop; reports per second. */
async function pullRate(
  pull: AndroidPubsubPullService,
  pubsub: FakePubsub,
  subscription: FakeSubscription,
  n: number,
): Promise<number> {
  const bar = progressBar('pull → upsert → ack', n);
  const before = subscription.acknowledged;
  const started = Date.now();
  pull.start();
  let last = 0;
  while (subscription.backlog > 0) {
    await new Promise((r) => setTimeout(r, 100));
    const done = subscription.acknowledged - before;
    bar.tick(done - last);
    last = done;
  }
  const seconds = (Date.now() - started) / 1000;
  await pull.stop();
  bar.done();
  const calls: Record<string, number> = {};
  for (const r of pubsub.requests.splice(0))
    calls[`${r.method} ${r.status}`] = (calls[`${r.method} ${r.status}`] ?? 0) + 1;
  console.error(`pubsub calls: ${JSON.stringify(calls)}; redelivered ${subscription.redelivered}`);
  return (subscription.acknowledged - before) / seconds;
}

/** The most calls in any window of `ms` (sliding over call times). */
function peakIn(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let lo = 0, hi = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] >= ms) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

async function main(): Promise<void> {
  const pg = await startEmbeddedPostgres({
    dir: mkdtempSync(join(tmpdir(), 'mdm-bench-android-')),
    port: 54900 + Math.floor(Math.random() * 90),
    database: 'bench',
    persistent: false,
  });
  const fake = await startFakeAmapi({
    enterprises: MINISTRIES.map((m) => `enterprises/LC0${m}`),
    autoApply: true,
    autoApplyDelayMs: 100,
    faults: { latencyMs: LATENCY_MS },
  });
  // Google's Pub/Sub: the enterprises' topic feeds the service's pull subscription.
  const pubsub = await startFakePubsub({ accessToken: fake.accessToken, pullWaitMs: 200 });
  const subscription = pubsub.createSubscription(SUBSCRIPTION, 60);
  fake.pubsub.pullSubscription = subscription;
  await runMigrations(pg.url);
  const app = await createApp(
    benchAppOptions(pg.url, {
      worker: true,
      android: {
        rootUrl: fake.url,
        accessToken: fake.accessToken,
        quotaPer100s: QUOTA_PER_100S,
        timeoutMs: 10_000,
        reports: 'pull',
        pubsub: {
          subscription: SUBSCRIPTION,
          rootUrl: pubsub.url,
          audience: 'bench-pubsub',
          serviceAccountEmail: fake.pubsubServiceAccountEmail,
          jwksUrl: fake.pubsubJwksUrl,
        },
      },
    }),
  );
  await app.init();
  const db = app.get(DataSource);
  const pull = app.get(AndroidPubsubPullService);
  try {
    await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
    await seedDemoData(db, app.get(AuditService));
    await db.query(`DELETE FROM device`);
    for (const m of MINISTRIES)
      await db.query(
        `INSERT INTO android_enterprise (ministry_code, enterprise_name, created_by) VALUES ($1, $2, 'bench')`,
        [m, `enterprises/LC0${m}`],
      );

    // The fleet: DEVICES company-owned Android phones, one per agent, 3 % of agents with an exemption.
    const seed = progressBar(`seeding ${DEVICES.toLocaleString('en')} phones`, DEVICES);
    for (let from = 0; from < DEVICES; from += 50_000) {
      const n = Math.min(50_000, DEVICES - from);
      await db.query(
        `WITH a AS (INSERT INTO agent (sub, email, ministry_code)
                    SELECT 'android-' || g, 'android' || g || '@bench.gouv.fr', ($3::text[])[1 + g % 4] FROM generate_series($1::int, $1::int + $2::int - 1) g RETURNING id, ministry_code, sub)
         INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, android_device_name)
         SELECT 'android', 'company', id, ministry_code, 'bench', 'enterprises/LC0' || ministry_code || '/devices/' || replace(sub, 'android-', 'd') FROM a`,
        [from, n, MINISTRIES],
      );
      seed.tick(n);
    }
    seed.done();
    await db.query(
      `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, approved_days, valid_from, valid_until)
       SELECT id, ministry_code, ($1::text[])[1 + abs(hashtext(sub)) % array_length($1::text[], 1)], 'bench', 30, 'approved', 30, now(), now() + interval '30 days'
         FROM agent WHERE sub LIKE 'android-%' AND abs(hashtext(sub || 'x')) % 100 < 3`,
      [EXEMPTABLE],
    );
    await db.transaction((tx) => app.get(PolicyGroupService).assignUngrouped(tx));
    await db.query(`DELETE FROM pgboss.job WHERE name = 'rollout.push'`);
    const engine = app.get(RolloutEngine);
    const groups = (await db.query(`SELECT id FROM policy_group ORDER BY id`)) as { id: string }[];
    for (const g of groups) await engine.ensurePublished(g.id);
    // Phones already attached to their group's policy, applied, as after their enrollment.
    await db.query(
      `UPDATE device d SET bound_policy = d.group_id, applied_hash = g.desired_hash FROM policy_group g WHERE g.id = d.group_id`,
    );
    const rows = (await db.query(
      `SELECT d.android_device_name AS name, d.group_id, p.version FROM device d JOIN android_policy_publication p ON p.policy_name = d.group_id AND p.enterprise_name = 'enterprises/LC0' || d.ministry_code`,
    )) as {
      name: string;
      group_id: string;
      version: string;
    }[];
    const switchedOff = new Set<string>();
    const policyBefore = new Map<string, string>();
    for (const r of rows) {
      const enterprise = r.name.split('/devices/')[0];
      if (offline(Number(r.name.split('/devices/d')[1]))) switchedOff.add(r.name);
      policyBefore.set(r.name, `${enterprise}/policies/${r.group_id}`);
      fake.state.devices.set(r.name, {
        name: r.name,
        state: 'ACTIVE',
        appliedState: 'ACTIVE',
        ownership: 'COMPANY_OWNED',
        managementMode: 'DEVICE_OWNER',
        policyName: `${enterprise}/policies/${r.group_id}`,
        appliedPolicyName: `${enterprise}/policies/${r.group_id}`,
        appliedPolicyVersion: r.version,
        softwareInfo: { androidVersion: '14' },
        applicationReports: [],
      });
    }
    fake.pubsub.offlineDevices = switchedOff;
    const online = rows.map((r) => r.name).filter((n) => !switchedOff.has(n));
    const total = await count(db, `SELECT count(*) AS n FROM device`);

    // 0. Ingestion: every online phone reports once (the fake applies its policy and publishes to the
    // subscription); the service drains the subscription, against a bare batched write of the same rows.
    const published = progressBar('phones report (fake)', online.length);
    for (let i = 0; i < online.length; i += 5000) {
      await fake.applyPolicies({ deviceNames: online.slice(i, i + 5000) });
      published.tick(Math.min(5000, online.length - i));
    }
    published.done();
    const bareRows: BareRow[] = online.map((name) => {
      const d = fake.state.devices.get(name);
      return {
        name,
        report_time: d?.lastStatusReportTime ?? new Date().toISOString(),
        installed: (d?.applicationReports ?? [])
          .filter((a) => a.packageName && a.state !== 'REMOVED')
          .map((a) => ({ id: a.packageName as string, version: a.versionName ?? undefined })),
        os_version: d?.softwareInfo?.androidVersion ?? null,
        policy_errors: [],
      };
    });
    // First reports (every phone's compliance is judged for the first time), then repeat reports
    // (what a fleet sends all day: nothing changed), each against the bare write of the same rows.
    const bareFirst = await bareUpsert(db, bareRows);
    const firstReports = await pullRate(pull, pubsub, subscription, online.length);
    const published2 = progressBar('phones report again (fake)', online.length);
    for (let i = 0; i < online.length; i += 5000) {
      await fake.applyPolicies({ deviceNames: online.slice(i, i + 5000) });
      published2.tick(Math.min(5000, online.length - i));
    }
    published2.done();
    for (const row of bareRows)
      row.report_time = fake.state.devices.get(row.name)?.lastStatusReportTime ?? row.report_time;
    const ingested = await pullRate(pull, pubsub, subscription, online.length);
    const bareAfter = await bareUpsert(db, bareRows);
    const bareRate = (bareFirst + bareAfter) / 2;
    const publishedBefore = fake.pushes.length;
    console.error(
      `ingestion: first reports ${Math.round(firstReports)}/s, repeat reports ${Math.round(ingested)}/s, bare batched upsert ${Math.round(bareRate)}/s (${Math.round(bareFirst)}, ${Math.round(bareAfter)})`,
    );
    fake.resetLog();

    // 1. A national baseline change, with the worker (its pull loop included) running.
    await app.get(WorkerService).start();
    const plans = app.get(PolicyPlanService);
    const state = await app.get(PolicyStateService).current(db.manager);
    const desired = {
      ...state,
      policies: {
        ...state.policies,
        national: {
          ...state.policies.national,
          rules: [
            ...state.policies.national.rules,
            { app: 'nextcloud', action: 'block' as const, exemptable: false, legalBasis: 'Bench' },
          ],
        },
      },
    };
    const started = Date.now();
    const { applied } = await plans.apply({ id: null, label: 'bench' }, await plans.planDesired(desired, ['national']));
    while (
      (await db.query(`SELECT status FROM rollout WHERE id = $1`, [applied[0].rolloutId]))[0].status === 'preparing'
    )
      await new Promise((r) => setTimeout(r, 100));
    const explain = (names: string[]) =>
      names.map((n) => {
        const d = fake.state.devices.get(n);
        return {
          fake: { policy: d?.policyName, applied: d?.appliedPolicyVersion, at: d?.lastStatusReportTime },
          policyVersion: fake.state.policies.get(d?.policyName ?? '')?.version,
          published: fake.pushes
            .filter((p) => (p.data as { name?: string }).name === n)
            .map((p) => [p.publishTime, p.outcome]),
        };
      });
    await waitConverged(db, 'baseline → converged (online)', online.length, explain);
    const baselineSeconds = (Date.now() - started) / 1000;
    // The retry loop runs every minute: watch what it sends to phones that are switched off or done.
    const watch = progressBar(`watching calls ${OBSERVE_SECONDS} s`, OBSERVE_SECONDS);
    for (let s = 0; s < OBSERVE_SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      watch.tick();
    }
    watch.done();
    const baselineCalls = callsByKind(fake.requests);
    const devicePatches = fake.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/devices/'));
    const uselessPatches = devicePatches.filter((r) => {
      const name = r.path.replace(/^\/v1\//, '');
      const body = r.body as { policyName?: string } | undefined;
      const target = body?.policyName?.includes('/')
        ? body.policyName
        : `${name.split('/devices/')[0]}/policies/${body?.policyName}`;
      return policyBefore.get(name) === target;
    }).length;
    const times = fake.requests.map((r) => Date.parse(r.at));
    const baselinePeak = peakIn(times, 100_000);
    const baselineReports = fake.pushes.length - publishedBefore;
    fake.resetLog();

    // 2. 1,000 exemption decisions, each by an approver of the agent's ministry.
    const directory = app.get(DirectoryService);
    const approvers = new Map<string, Awaited<ReturnType<DirectoryService['principalFor']>>>();
    for (const m of MINISTRIES) approvers.set(m, await directory.principalFor({ sub: `demo-approver-${m}` }));
    const pending = (await db.query(
      `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at)
       SELECT a.id, a.ministry_code, 'x', 'Compte institutionnel (banc d''essai)', 30, 'pending', now()
         FROM agent a WHERE a.sub LIKE 'android-%' AND NOT EXISTS (SELECT 1 FROM exemption e WHERE e.agent_id = a.id)
        ORDER BY a.sub LIMIT $1 RETURNING id, ministry_code`,
      [DECISIONS],
    )) as { id: string; ministry_code: string }[];
    const exemptions = app.get(ExemptionsService);
    const decided = Date.now();
    const bar = progressBar(`${pending.length} approvals`, pending.length);
    for (const p of pending) {
      await exemptions.approve(
        approvers.get(p.ministry_code) as Awaited<ReturnType<DirectoryService['principalFor']>>,
        p.id,
        {},
      );
      bar.tick();
    }
    bar.done();
    const decisionSeconds = (Date.now() - decided) / 1000;
    await waitConverged(db, 'exemptions → converged (online)', online.length);
    const exemptionSeconds = (Date.now() - decided) / 1000;
    const exemptionCalls = callsByKind(fake.requests);
    const exemptionPeak = peakIn(
      fake.requests.map((r) => Date.parse(r.at)),
      100_000,
    );

    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    console.log(
      JSON.stringify(
        {
          date: new Date().toISOString(),
          devices: total,
          offline: switchedOff.size,
          groups: await count(db, `SELECT count(*) AS n FROM policy_group`),
          amapiLatencyMs: LATENCY_MS,
          quotaPer100s: QUOTA_PER_100S,
          ingestion: {
            reports: online.length,
            firstReportsPerSecond: Math.round(firstReports),
            firstReportsRatioToBare: round(firstReports / bareRate, 2),
            pulledPerSecond: Math.round(ingested),
            bareBatchedUpsertPerSecond: Math.round(bareRate),
            ratioToBare: round(ingested / bareRate, 2),
            target: '>= 0.5',
          },
          baselineChange: {
            secondsToConvergenceOfOnlinePhones: round(baselineSeconds),
            target: '< 90',
            amapiCalls: baselineCalls,
            callsPerDevice: Number((sum(baselineCalls) / total).toFixed(5)),
            devicesPatchToPhonesAlreadyOnTheirPolicy: uselessPatches,
            peakCallsIn100s: baselinePeak,
            statusReportsPublished: baselineReports,
            watchedAfterConvergenceSeconds: OBSERVE_SECONDS,
          },
          exemptionDecisions: {
            decisions: pending.length,
            secondsToDecide: round(decisionSeconds),
            secondsToConvergence: round(exemptionSeconds),
            amapiCalls: exemptionCalls,
            callsPerDecision: Number((sum(exemptionCalls) / pending.length).toFixed(3)),
            peakCallsIn100s: exemptionPeak,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await pull.stop();
    await app.close();
    await fake.stop();
    await pubsub.stop();
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
