/**
 * `npm run bench -- android-quota`: the Android Management API call rate under the retry loop,
 * against the published quota (the baseline of the ratio), with 20 % of the phones switched off.
 *
 * A national baseline change (one policies.patch per group) while LOST_PERCENT of the phones need a
 * devices.patch again (their last one did not go through), Google answering 429 to FAULT_PERCENT of
 * the calls (Retry-After: 0, the worst case), the real worker and its retry tick every minute. The
 * online phones apply and report; the switched-off ones do not. Printed: the most calls in any
 * 100-second window (Google's quota window) as a ratio to the quota, the 10-second and 1-second
 * peaks, the devices.patch sent to phones already on their policy (must be 0), and the bucket's rate.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { AuditService } from '../api/src/audit/audit.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { PolicyPlanService } from '../api/src/policies/policy-plan.service';
import { PolicyStateService } from '../api/src/policies/policy-state.service';
import { PolicyGroupService } from '../api/src/rollout/policy-group.service';
import { RolloutEngine } from '../api/src/rollout/rollout-engine.service';
import { WorkerService } from '../api/src/worker/worker.service';
import { startFakeAmapi } from '../tools/fake-amapi/fake-amapi';
import { benchAppOptions, progressBar } from './support';

const DEVICES = Number(process.env.QUOTA_DEVICES ?? 10_000);
const OFFLINE_PERCENT = Number(process.env.QUOTA_OFFLINE_PERCENT ?? 20);
const LOST_PERCENT = Number(process.env.QUOTA_LOST_PERCENT ?? 15);
const FAULT_PERCENT = Number(process.env.QUOTA_429_PERCENT ?? 3);
const QUOTA_PER_100S = Number(process.env.QUOTA_PER_100S ?? 1_500);
const LATENCY_MS = Number(process.env.AMAPI_LATENCY_MS ?? 50);
const MINISTRIES = ['armees', 'culture', 'economie', 'interieur'];

/** Most requests whose time falls in any window of `ms` (sorted times). */
function peak(times: number[], ms: number): number {
  let best = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while (times[to] - times[from] >= ms) from++;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

async function main(): Promise<void> {
  const pg = await startEmbeddedPostgres({
    dir: mkdtempSync(join(tmpdir(), 'mdm-bench-quota-')),
    port: 54800 + Math.floor(Math.random() * 90),
    database: 'bench',
    persistent: false,
  });
  const fake = await startFakeAmapi({
    enterprises: MINISTRIES.map((m) => `enterprises/LC0${m}`),
    autoApply: false,
    faults: { latencyMs: LATENCY_MS, rate: 0, kinds: ['429'], retryAfterSeconds: 0 },
  });
  await runMigrations(pg.url);
  const app = await createApp(
    benchAppOptions(pg.url, {
      worker: true,
      android: {
        rootUrl: fake.url,
        accessToken: fake.accessToken,
        quotaPer100s: QUOTA_PER_100S,
        timeoutMs: 10_000,
        pubsub: { audience: 'bench-pubsub', jwksUrl: fake.pubsubJwksUrl },
      },
    }),
  );
  await app.init();
  await app.listen(0, '127.0.0.1');
  fake.pubsub.pushEndpoint = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/android/pubsub`;
  fake.pubsub.audience = 'bench-pubsub';
  const db = app.get(DataSource);
  try {
    await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
    await seedDemoData(db, app.get(AuditService));
    await db.query(`DELETE FROM device`);
    for (const m of MINISTRIES)
      await db.query(
        `INSERT INTO android_enterprise (ministry_code, enterprise_name, created_by) VALUES ($1, $2, 'bench')`,
        [m, `enterprises/LC0${m}`],
      );
    await db.query(
      `WITH a AS (INSERT INTO agent (sub, email, ministry_code)
                  SELECT 'quota-' || g, 'quota' || g || '@bench.gouv.fr', ($2::text[])[1 + g % 4] FROM generate_series(1, $1::int) g
                  RETURNING id, ministry_code, sub)
       INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, android_device_name)
       SELECT 'android', 'company', id, ministry_code, 'bench', 'enterprises/LC0' || ministry_code || '/devices/' || replace(sub, 'quota-', 'd') FROM a`,
      [DEVICES, MINISTRIES],
    );
    await db.transaction((tx) => app.get(PolicyGroupService).assignUngrouped(tx));
    await db.query(`DELETE FROM pgboss.job WHERE name = 'rollout.push'`);
    const engine = app.get(RolloutEngine);
    for (const g of (await db.query(`SELECT id FROM policy_group ORDER BY id`)) as { id: string }[])
      await engine.ensurePublished(g.id);
    // Every phone enrolled on its group's policy and applied it; LOST_PERCENT of them lost their
    // last devices.patch (attached elsewhere at Google, a retryable failure on our side).
    await db.query(
      `UPDATE device d SET bound_policy = d.group_id, applied_hash = g.desired_hash FROM policy_group g WHERE g.id = d.group_id`,
    );
    const [lost] = (await db.query(
      `UPDATE device SET bound_policy = 'lost', push_state = 'retrying', push_attempts = 0, last_push_at = now() - interval '1 hour'
        WHERE abs(hashtext(id::text)) % 100 < $1 RETURNING android_device_name AS name`,
      [LOST_PERCENT],
    )) as [{ name: string }[], number];
    const lostNames = new Set(lost.map((r) => r.name));
    const rows = (await db.query(
      `SELECT d.android_device_name AS name, d.group_id, p.version FROM device d
         JOIN android_policy_publication p ON p.policy_name = d.group_id AND p.enterprise_name = 'enterprises/LC0' || d.ministry_code`,
    )) as { name: string; group_id: string; version: string }[];
    const online: string[] = [];
    for (const [i, r] of rows.entries()) {
      const enterprise = r.name.split('/devices/')[0];
      const policy = lostNames.has(r.name) ? `${enterprise}/policies/lost` : `${enterprise}/policies/${r.group_id}`;
      fake.state.devices.set(r.name, {
        name: r.name,
        state: 'ACTIVE',
        appliedState: 'ACTIVE',
        ownership: 'COMPANY_OWNED',
        managementMode: 'DEVICE_OWNER',
        policyName: policy,
        appliedPolicyName: `${enterprise}/policies/${r.group_id}`,
        appliedPolicyVersion: r.version,
        applicationReports: [],
      });
      if (i % 100 >= OFFLINE_PERCENT) online.push(r.name);
    }
    const alreadyOnPolicy = new Set(rows.filter((r) => !lostNames.has(r.name)).map((r) => r.name));
    fake.resetLog();
    fake.faults = { ...fake.faults, rate: FAULT_PERCENT / 100 };
    const started = Date.now();
    await app.get(WorkerService).start();

    // The national baseline change, while the retry loop re-attaches the lost phones.
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
    await plans.apply({ id: null, label: 'bench' }, await plans.planDesired(desired, ['national']));
    const patched = () => fake.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/devices/'));
    while (
      fake.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/policies/') && r.status === 200).length <
      MINISTRIES.length
    )
      await new Promise((r) => setTimeout(r, 200));
    // The online phones fetch the new policy and report, a batch at a time (as fast as ingestion goes).
    let measuring = true;
    const reporting = (async () => {
      for (let i = 0; i < online.length && measuring; i += 250)
        await fake.applyPolicies({ deviceNames: online.slice(i, i + 250) });
    })();

    const bar = progressBar(`${lost.length} lost phones re-attached`, lost.length);
    let done = 0;
    for (;;) {
      const [{ n }] = (await db.query(
        `SELECT count(*)::int AS n FROM device WHERE bound_policy IS DISTINCT FROM group_id`,
      )) as { n: number }[];
      bar.tick(lost.length - n - done);
      done = lost.length - n;
      if (n === 0) break;
      if (Date.now() - started > 20 * 60_000) throw new Error(`not done after 20 min (${done}/${lost.length})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    bar.done();
    // One more tick of the retry loop: nothing left to send, switched-off phones included.
    const settled = fake.requests.length;
    await new Promise((r) => setTimeout(r, 65_000));
    const afterwards = fake.requests.length - settled;
    measuring = false;
    await reporting;
    const seconds = (Date.now() - started) / 1000;

    const times = fake.requests.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    const [bucket] = (await db.query(`SELECT rate FROM rate_limit WHERE key = 'amapi'`)) as { rate: number | null }[];
    const useless = patched().filter((r) => alreadyOnPolicy.has(r.path.replace(/^\/v1\//, ''))).length;
    const per100 = peak(times, 100_000);
    console.log(
      JSON.stringify(
        {
          date: new Date().toISOString().slice(0, 10),
          devices: DEVICES,
          offlinePercent: OFFLINE_PERCENT,
          lostPhones: lost.length,
          quotaPer100s: QUOTA_PER_100S,
          injected429Percent: FAULT_PERCENT,
          amapiLatencyMs: LATENCY_MS,
          seconds: Math.round(seconds),
          amapiCalls: fake.requests.length,
          answered429: fake.requests.filter((r) => r.status === 429).length,
          devicesPatch: patched().length,
          devicesPatchToPhonesAlreadyOnTheirPolicy: useless,
          callsInTheTickAfterConvergence: afterwards,
          peakCallsPer100s: per100,
          peakRatioToQuota: Number((per100 / QUOTA_PER_100S).toFixed(3)),
          peakCallsPer10s: peak(times, 10_000),
          peakCallsPer1s: peak(times, 1_000),
          quotaPerSecond: QUOTA_PER_100S / 100,
          // null: back at its ceiling, (quota − burst) / 100 s.
          bucketRateAtEnd: bucket?.rate ?? (QUOTA_PER_100S - Math.round(QUOTA_PER_100S / 10)) / 100,
        },
        null,
        2,
      ),
    );
  } finally {
    await app.close();
    await fake.stop();
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
