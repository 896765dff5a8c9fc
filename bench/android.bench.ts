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
import { startFakeAmapi } from '../tools/fake-amapi/fake-amapi';
import { benchAppOptions, progressBar } from './support';

const DEVICES = Number(process.env.ANDROID_DEVICES ?? 100_000);
const DECISIONS = Number(process.env.ANDROID_DECISIONS ?? 1000);
const LATENCY_MS = Number(process.env.AMAPI_LATENCY_MS ?? 50);
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

async function waitConverged(db: DataSource, label: string, total: number): Promise<number> {
  const started = Date.now();
  const bar = progressBar(label, total);
  let last = 0;
  for (;;) {
    const converged = await count(
      db,
      `SELECT count(*) AS n FROM device d JOIN policy_group g ON g.id = d.group_id WHERE d.platform = 'android' AND d.applied_hash = g.desired_hash AND d.unenrolled_at IS NULL`,
    );
    bar.tick(converged - last);
    last = converged;
    if (converged >= total) break;
    if (Date.now() - started > 30 * 60_000)
      throw new Error(`${label}: not converged after 30 min (${converged}/${total})`);
    await new Promise((r) => setTimeout(r, 250));
  }
  bar.done();
  return (Date.now() - started) / 1000;
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
  await runMigrations(pg.url);
  const app = await createApp(
    benchAppOptions(pg.url, {
      worker: true,
      android: {
        rootUrl: fake.url,
        accessToken: fake.accessToken,
        quotaPer100s: 1_000_000,
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
    for (const r of rows) {
      const enterprise = r.name.split('/devices/')[0];
      fake.state.devices.set(r.name, {
        name: r.name,
        state: 'ACTIVE',
        appliedState: 'ACTIVE',
        ownership: 'COMPANY_OWNED',
        managementMode: 'DEVICE_OWNER',
        policyName: `${enterprise}/policies/${r.group_id}`,
        appliedPolicyName: `${enterprise}/policies/${r.group_id}`,
        appliedPolicyVersion: r.version,
        applicationReports: [],
      });
    }
    const total = await count(db, `SELECT count(*) AS n FROM device`);
    fake.resetLog();
    await app.get(WorkerService).start();

    // 1. A national baseline change.
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
    await waitConverged(db, 'baseline → converged', total);
    const baselineSeconds = (Date.now() - started) / 1000;
    const baselineCalls = callsByKind(fake.requests);
    const baselinePushes = fake.pushes.length;
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
    await waitConverged(db, 'exemptions → converged', total);
    const exemptionSeconds = (Date.now() - decided) / 1000;
    const exemptionCalls = callsByKind(fake.requests);

    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    console.log(
      JSON.stringify(
        {
          devices: total,
          groups: await count(db, `SELECT count(*) AS n FROM policy_group`),
          amapiLatencyMs: LATENCY_MS,
          baselineChange: {
            secondsToConvergence: Math.round(baselineSeconds * 10) / 10,
            amapiCalls: baselineCalls,
            callsPerDevice: Number((sum(baselineCalls) / total).toFixed(5)),
            statusReportsReceived: baselinePushes,
          },
          exemptionDecisions: {
            decisions: pending.length,
            secondsToDecide: Math.round(decisionSeconds * 10) / 10,
            secondsToConvergence: Math.round(exemptionSeconds * 10) / 10,
            amapiCalls: exemptionCalls,
            callsPerDecision: Number((sum(exemptionCalls) / pending.length).toFixed(3)),
          },
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
