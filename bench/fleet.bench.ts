import { DataSource } from 'typeorm';
import { PolicyPlanService } from '../api/src/policies/policy-plan.service';
import { PolicyStateService } from '../api/src/policies/policy-state.service';
import { PolicyGroupService } from '../api/src/rollout/policy-group.service';
import { RolloutEngine } from '../api/src/rollout/rollout-engine.service';
import { RolloutService } from '../api/src/rollout/rollout.service';
import { benchContext, progressBar, timed } from './support';

const DEVICES = Number(process.env.FLEET_DEVICES ?? 1_000_000);
const MINISTRIES = 20;
const EXEMPTED_SHARE = 0.03;
const EXEMPTABLE = [
  'tiktok',
  'x',
  'instagram',
  'facebook',
  'snapchat',
  'zoom',
  'google-meet',
  'microsoft-teams',
  'webex',
  'whatsapp',
  'signal',
  'discord',
];

async function count(db: DataSource, sql: string): Promise<number> {
  return Number((await db.query(sql))[0].n);
}

/** Samples the process's resident memory while `fn` runs. */
async function withPeakMemory<T>(fn: () => Promise<T>): Promise<[T, number]> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return [result, peak];
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const ctx = await benchContext('mdm_bench_fleet');
  const db = ctx.db;
  try {
    // 20 ministries: the 5 of policies/ and 15 more following the baseline.
    const existing = (await db.query(`SELECT count(*)::int AS n FROM ministry`))[0].n as number;
    for (let i = existing + 1; i <= MINISTRIES; i++) {
      const code = `ministere-${i}`;
      await db.query(`INSERT INTO ministry (code, name, email_domains) VALUES ($1, $2, $3)`, [
        code,
        `Ministère n°${i}`,
        [`m${i}.gouv.fr`],
      ]);
      await db.query(`INSERT INTO policy (scope, current_version) VALUES ($1, 1)`, [code]);
      await db.query(
        `INSERT INTO policy_version (scope, version, mode, content, content_hash, created_by) VALUES ($1, 1, 'blocklist', '{"mode":"blocklist","rules":[]}', 'bench', 'bench')`,
        [code],
      );
    }
    const setup = progressBar(`creating ${DEVICES.toLocaleString('en')} agents+phones`, DEVICES);
    const batch = 100_000;
    const [, seedMs] = await timed(async () => {
      for (let from = 0; from < DEVICES; from += batch) {
        const n = Math.min(batch, DEVICES - from);
        await db.query(
          `WITH m AS (SELECT array_agg(code ORDER BY code) AS codes FROM ministry),
                a AS (INSERT INTO agent (sub, email, ministry_code)
                      SELECT 'fleet-' || g, 'fleet' || g || '@bench.gouv.fr', m.codes[1 + g % array_length(m.codes, 1)]
                        FROM generate_series($1::int, $1::int + $2::int - 1) g, m RETURNING id, ministry_code)
           INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name)
           SELECT CASE WHEN random() < 0.4 THEN 'ios' ELSE 'android' END, CASE WHEN random() < 0.15 THEN 'personal' ELSE 'company' END, id, ministry_code, 'bench' FROM a`,
          [from, n],
        );
        setup.tick(n);
      }
      // 3 % of agents hold one or two exemptions.
      await db.query(
        `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, approved_days, valid_from, valid_until, requested_at)
         SELECT a.id, a.ministry_code, app, 'bench', 90, 'approved', 90, now(), now() + interval '90 days', now()
           FROM (SELECT id, ministry_code FROM agent WHERE sub LIKE 'fleet-%' AND random() < $1) a
           CROSS JOIN LATERAL (SELECT DISTINCT ($2::text[])[1 + floor(random() * array_length($2::text[], 1))::int] AS app
                                 FROM generate_series(1, 1 + (random() < 0.5)::int) WHERE a.id IS NOT NULL) apps`,
        [EXEMPTED_SHARE, EXEMPTABLE],
      );
      await db.query('ANALYZE');
    });
    setup.done();

    const [grouped, groupMs] = await timed(() =>
      db.transaction((tx) => ctx.app.get(PolicyGroupService).assignUngrouped(tx)),
    );
    await db.query(`DELETE FROM pgboss.job WHERE name = 'rollout.push'`); // the first-policy pushes are not what is measured
    await db.query('ANALYZE');
    const groups = await count(db, `SELECT count(*) AS n FROM policy_group`);
    const exempted = await count(db, `SELECT count(DISTINCT agent_id) AS n FROM exemption WHERE status = 'approved'`);

    // A national baseline change: block one more app everywhere.
    const plans = ctx.app.get(PolicyPlanService);
    const state = await ctx.app.get(PolicyStateService).current(db.manager);
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
    const [plan, planMs] = await timed(() => plans.planDesired(desired, ['national']));
    const [applied, applyMs] = await timed(() => plans.apply({ id: null, label: 'bench' }, plan));
    const rolloutId = applied.applied[0].rolloutId;

    const before = {
      groups: await count(db, `SELECT count(*) AS n FROM policy_group WHERE generation > 1`),
      jobs: await count(db, `SELECT count(*) AS n FROM pgboss.job`),
      devicesUpdated: await count(db, `SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'device'`),
    };
    const [[, recomputeMs], peakRss] = await withPeakMemory(() =>
      timed(() => ctx.app.get(RolloutEngine).prepare(rolloutId)),
    );
    await new Promise((r) => setTimeout(r, 600)); // statistics are flushed asynchronously
    const after = {
      groups: await count(db, `SELECT count(*) AS n FROM policy_group WHERE generation > 1`),
      rolloutGroups: await count(db, `SELECT count(*) AS n FROM rollout_group WHERE rollout_id = '${rolloutId}'`),
      jobs: await count(db, `SELECT count(*) AS n FROM pgboss.job`),
      devicesUpdated: await count(db, `SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'device'`),
    };
    const iphones = await count(
      db,
      `SELECT count(*) AS n FROM device d JOIN rollout_group rg ON rg.group_id = d.group_id AND rg.rollout_id = '${rolloutId}' WHERE d.platform = 'ios'`,
    );
    const [progress, progressMs] = await timed(() => ctx.app.get(RolloutService).operatorView({ id: rolloutId }));

    const result = {
      devices: DEVICES,
      ministries: MINISTRIES,
      agentsWithExemptions: exempted,
      distinctGroups: groups,
      seedSeconds: Math.round(seedMs / 100) / 10,
      assignGroupsSeconds: Math.round(groupMs / 100) / 10,
      devicesGrouped: grouped,
      planSeconds: Math.round(planMs / 100) / 10,
      planDevicesAffected: plan.summary.devicesAffected,
      applySeconds: Math.round(applyMs / 100) / 10,
      recomputeDesiredStateSeconds: Math.round(recomputeMs / 100) / 10,
      peakRssMB: Math.round(peakRss / 1024 / 1024),
      rowsWritten: {
        policyGroupsUpdated: after.groups - before.groups,
        rolloutGroupRows: after.rolloutGroups,
        pushJobsQueued: after.jobs - before.jobs,
        deviceRowsUpdated: after.devicesUpdated - before.devicesUpdated,
      },
      platformWrites: {
        androidPolicyPublishes: after.rolloutGroups,
        androidDevicePatches: 0,
        applePushesQueued: iphones,
      },
      progressQuerySeconds: Math.round(progressMs / 100) / 10,
      rolloutTotals: progress.rollouts[0]?.totals,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await ctx.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
