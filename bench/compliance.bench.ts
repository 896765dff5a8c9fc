/**
 * `npm run bench -- compliance`: the compliance read model at national scale. 2.5 million phones
 * (COMPLIANCE_DEVICES to change it) in 20 ministries, generated in SQL, with reports of every kind
 * (never reported, stale, banned apps, old OS, unsupervised iPhones) and a national rollout half
 * way. Each figure the observatory and the rollout page show is timed as the service reads it
 * (counters kept by the device table's triggers) and as a scan of the device table would, in the
 * same run; then the daily snapshot, and the peak memory of this process.
 */
import { DataSource } from 'typeorm';
import type { Principal } from '../api/src/auth/principal';
import { ComplianceService } from '../api/src/compliance/compliance.service';
import { DeviceStateService } from '../api/src/devices/device-state.service';
import { PolicyPlanService } from '../api/src/policies/policy-plan.service';
import { PolicyStateService } from '../api/src/policies/policy-state.service';
import { PolicyGroupService } from '../api/src/rollout/policy-group.service';
import { RolloutEngine } from '../api/src/rollout/rollout-engine.service';
import { RolloutService } from '../api/src/rollout/rollout.service';
import { benchContext, progressBar, summary, timed } from './support';

const DEVICES = Number(process.env.COMPLIANCE_DEVICES ?? 2_500_000);
const MINISTRIES = 20;
const BATCH = 250_000;
/** Apps some agents hold an exemption for: each ministry has a group per app and per pair of them. */
const EXEMPTABLE = ['tiktok', 'x', 'instagram', 'facebook', 'snapchat', 'zoom', 'whatsapp', 'signal', 'discord'];
/** Banned apps found on phones (by the national baseline). */
const FOUND = ['tiktok', 'netflix', 'candy-crush-saga', 'telegram', 'spotify', 'twitch'];
const COUNTER_RUNS = 40;
const SCAN_RUNS = 7;

const NATIONAL_ADMIN: Principal = {
  agentId: '00000000-0000-0000-0000-000000000000',
  sub: 'bench',
  email: 'bench@numerique.gouv.fr',
  displayName: 'Bench',
  ministry: 'spm',
  roles: [{ role: 'national-admin', ministry: null }],
};

/** Samples this process's resident memory until stopped. */
function memoryPeak(): { stop: () => number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
    },
  };
}

async function sample(runs: number, warmup: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push((await timed(fn))[1]);
  return out;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function ministriesAndGroups(db: DataSource, groups: PolicyGroupService): Promise<number> {
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
  // The policy groups: each ministry's own, and one per exempted app and per pair (as exemptions make them).
  const codes = ((await db.query(`SELECT code FROM ministry ORDER BY code`)) as { code: string }[]).map((m) => m.code);
  const combos: string[][] = [[]];
  for (let a = 0; a < EXEMPTABLE.length; a++) {
    combos.push([EXEMPTABLE[a]]);
    for (let b = a + 1; b < EXEMPTABLE.length; b++) combos.push([EXEMPTABLE[a], EXEMPTABLE[b]]);
  }
  const made = progressBar('policy groups', codes.length * combos.length);
  await db.transaction(async (tx) => {
    for (const code of codes)
      for (const apps of combos) {
        await groups.ensureGroup(tx, code, apps);
        made.tick();
      }
  });
  made.done();
  return codes.length * combos.length;
}

/**
 * The phones, in batches, all in SQL, as they stand half way through the national rollout
 * `rolloutId`: six in ten applied its new policy, the others still carry the previous one.
 */
async function phones(db: DataSource, rolloutId: string): Promise<void> {
  // Devices, in batches, all in SQL. Per device i: its ministry, platform (40 % iPhones), group (97 %
  // the ministry's own), its last report: never (8 %), older than the stale limit (4 %), or recent;
  // then an old OS (3 %), an unsupervised iPhone (2 % of iPhones), a banned app (6 %), a failed push (1 %).
  const bar = progressBar(`${DEVICES.toLocaleString('en')} phones`, DEVICES);
  for (let from = 0; from < DEVICES; from += BATCH) {
    const n = Math.min(BATCH, DEVICES - from);
    await db.query(
      `WITH m AS (SELECT array_agg(code ORDER BY code) AS codes FROM ministry),
            gr AS (SELECT ministry_code, array_agg(id ORDER BY id) FILTER (WHERE cardinality(exempted_apps) > 0) AS exempt,
                          min(id) FILTER (WHERE cardinality(exempted_apps) = 0) AS own
                     FROM policy_group GROUP BY 1),
            found AS (SELECT array_agg(slug ORDER BY slug) AS slugs, array_agg(name ORDER BY slug) AS names,
                             array_agg(android_packages[1] ORDER BY slug) AS android,
                             array_agg(ios_bundle_ids[1] ORDER BY slug) AS ios FROM app WHERE slug = ANY($3)),
            base AS (
              SELECT i, m.codes[1 + i % array_length(m.codes, 1)] AS ministry,
                     CASE WHEN (i * 7) % 100 < 40 THEN 'ios' ELSE 'android' END AS platform,
                     ((i * 2654435761) % 10000)::int AS bucket,
                     ((i * 7919) % 10000)::int AS r, ((i * 104729) % 1000)::int AS r2
                FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) i, m),
            facts AS (
              SELECT b.*, g.own,
                     CASE WHEN b.r % 100 < 97 OR g.exempt IS NULL THEN g.own ELSE g.exempt[1 + b.r2 % array_length(g.exempt, 1)] END AS group_id,
                     CASE WHEN b.r < 800 THEN NULL
                          WHEN b.r < 1200 THEN now() - make_interval(days => 8 + b.r2 % 30)
                          ELSE now() - make_interval(mins => b.r2 * 3) END AS reported_at,
                     CASE WHEN b.platform = 'ios' THEN (CASE WHEN b.r2 < 30 THEN 14 ELSE 15 + b.r2 % 4 END)::text || '.' || (b.r2 % 6)
                          ELSE (CASE WHEN b.r2 < 30 THEN 10 ELSE 11 + b.r2 % 5 END)::text END AS os_version,
                     b.platform = 'ios' AND b.r2 BETWEEN 30 AND 49 AS unsupervised,
                     CASE WHEN (b.r + b.r2) % 100 < 6 THEN 1 + (b.r2 % array_length(f.slugs, 1)) END AS banned_index,
                     f.slugs, f.names, f.android, f.ios
                FROM base b JOIN gr g ON g.ministry_code = b.ministry, found f),
            judged AS (
              SELECT f.*,
                     CASE WHEN f.banned_index IS NULL THEN '{}'::text[] ELSE ARRAY[f.slugs[f.banned_index]] END AS banned,
                     -- The evaluator's reasons, in its order: banned app, not supervised, OS too old.
                     CASE WHEN f.banned_index IS NULL THEN '[]'::jsonb
                          ELSE jsonb_build_array(jsonb_build_object('code', 'banned-app', 'app', f.slugs[f.banned_index],
                                                 'text', 'banned app still installed: ' || f.names[f.banned_index])) END
                     || CASE WHEN f.unsupervised
                             THEN jsonb_build_array(jsonb_build_object('code', 'not-supervised', 'text', 'not supervised: apps cannot be blocked on this phone'))
                             ELSE '[]'::jsonb END
                     || CASE WHEN split_part(f.os_version, '.', 1)::int < CASE WHEN f.platform = 'ios' THEN 15 ELSE 11 END
                             THEN jsonb_build_array(jsonb_build_object('code', 'os-too-old', 'text', 'OS too old to enforce the policy'))
                             ELSE '[]'::jsonb END AS reasons
                FROM facts f)
       INSERT INTO device (platform, ownership, ministry_code, display_name, model, group_id, bucket, bound_policy, applied_hash, push_state,
                           os_version, supervised, reported_at, last_seen_at, installed_apps, banned_apps, compliance,
                           compliance_reason, compliance_reasons, compliance_at)
       SELECT j.platform, CASE WHEN j.r2 % 7 = 6 THEN 'personal' ELSE 'company' END, j.ministry, 'bench ' || j.i,
              CASE WHEN j.platform = 'ios' THEN 'iPhone 15' ELSE 'Pixel 8' END,
              j.group_id, j.bucket, CASE WHEN j.platform = 'android' THEN j.group_id END,
              CASE WHEN j.r2 % 100 = 99 THEN NULL WHEN j.bucket < 6000 THEN rg.to_hash WHEN j.r2 % 10 = 0 THEN NULL ELSE rg.from_hash END,
              CASE WHEN j.r2 % 100 = 99 THEN 'failed' ELSE 'ok' END,
              CASE WHEN j.reported_at IS NULL THEN NULL ELSE j.os_version END,
              CASE WHEN j.reported_at IS NULL THEN NULL ELSE NOT j.unsupervised END,
              j.reported_at, coalesce(j.reported_at, now() - interval '1 hour'),
              CASE WHEN j.reported_at IS NULL THEN '[]'::jsonb
                   ELSE jsonb_build_array(jsonb_build_object('id', CASE WHEN j.platform = 'ios' THEN 'fr.gouv.tchap' ELSE 'fr.gouv.tchap.a' END))
                        || CASE WHEN j.banned_index IS NULL THEN '[]'::jsonb
                                ELSE jsonb_build_array(jsonb_build_object('id', CASE WHEN j.platform = 'ios' THEN j.ios[j.banned_index] ELSE j.android[j.banned_index] END)) END
              END,
              CASE WHEN j.reported_at IS NULL THEN '{}' ELSE j.banned END,
              CASE WHEN j.reported_at IS NULL THEN 'unknown'
                   WHEN j.reported_at < now() - interval '7 days' THEN 'stale'
                   WHEN jsonb_array_length(j.reasons) > 0 THEN 'non-compliant' ELSE 'compliant' END,
              CASE WHEN j.reported_at IS NULL OR jsonb_array_length(j.reasons) = 0 THEN NULL
                   ELSE (SELECT string_agg(r->>'text', '; ' ORDER BY o) FROM jsonb_array_elements(j.reasons) WITH ORDINALITY AS x(r, o)) END,
              CASE WHEN j.reported_at IS NULL THEN '[]'::jsonb ELSE j.reasons END,
              CASE WHEN j.reported_at IS NULL THEN NULL ELSE now() END
         FROM judged j JOIN rollout_group rg ON rg.group_id = j.group_id AND rg.rollout_id = $4`,
      [from, n, FOUND, rolloutId],
    );
    bar.tick(n);
  }
  bar.done();
}

async function main(): Promise<void> {
  const memory = memoryPeak();
  const ctx = await benchContext('mdm_bench_compliance');
  const db = ctx.db;
  try {
    const groups = await ministriesAndGroups(db, ctx.app.get(PolicyGroupService));
    // A national change: one more app blocked everywhere, rolled out 1 % → 10 % → 100 %; the
    // phones are then created as they stand half way through it (six in ten applied it).
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
    const plan = await plans.planDesired(desired, ['national']);
    const applied = await plans.apply({ id: null, label: 'bench' }, plan, {
      stages: [1, 10, 100],
      stageWaitSeconds: 3600,
    });
    const rolloutId = applied.applied[0].rolloutId as string;
    await ctx.app.get(RolloutEngine).prepare(rolloutId);
    const [, generateMs] = await timed(() => phones(db, rolloutId));
    const [, analyzeMs] = await timed(() => db.query('VACUUM ANALYZE'));
    const [, foldMs] = await timed(() => ctx.app.get(DeviceStateService).foldTallies());
    const counterRows = Number(
      (
        await db.query(
          `SELECT (SELECT count(*) FROM compliance_tally) + (SELECT count(*) FROM banned_app_tally) + (SELECT count(*) FROM rollout_tally) AS n`,
        )
      )[0].n,
    );
    // Then the Android phones of one group apply its policy at once: one statement, counted by the triggers.
    const [{ id: culture, desired_hash: cultureHash }] = (await db.query(
      `SELECT id, desired_hash FROM policy_group WHERE id = 'culture'`,
    )) as { id: string; desired_hash: string }[];
    const [applying, applyingMs] = await timed(() =>
      ctx.app.get(DeviceStateService).recordPolicyApplied(culture, cultureHash),
    );
    await ctx.app.get(DeviceStateService).foldTallies();

    // The same figures, as the service reads them and as a scan of the device table.
    const compliance = ctx.app.get(ComplianceService);
    const rollouts = ctx.app.get(RolloutService);
    const rolloutScan = `
      SELECT CASE WHEN d.bucket < 100 THEN 0 WHEN d.bucket < 1000 THEN 1 WHEN d.bucket < 10000 THEN 2 END AS stage, count(*)::int AS devices,
             count(*) FILTER (WHERE d.applied_hash = rg.to_hash)::int AS converged,
             count(*) FILTER (WHERE d.push_state = 'failed' AND d.applied_hash IS DISTINCT FROM rg.to_hash)::int AS failed,
             count(*) FILTER (WHERE d.compliance = 'non-compliant')::int AS "nonCompliant"
        FROM device d JOIN rollout_group rg ON rg.group_id = d.group_id AND rg.rollout_id = $1
       WHERE d.unenrolled_at IS NULL GROUP BY 1`;
    const nationalScan = `
      SELECT ministry_code, platform, compliance, split_part(os_version, '.', 1) AS os, cardinality(banned_apps) > 0 AS banned, count(*)::int AS n
        FROM device WHERE unenrolled_at IS NULL GROUP BY 1, 2, 3, 4, 5`;
    const appsScan = `
      SELECT ministry_code, platform, app, count(*)::int AS n FROM device, unnest(banned_apps) app
       WHERE unenrolled_at IS NULL GROUP BY 1, 2, 3`;
    const figures = {
      nationalSummary: {
        counters: summary(await sample(COUNTER_RUNS, 3, () => compliance.national(NATIONAL_ADMIN))),
        scan: summary(await sample(SCAN_RUNS, 1, () => db.query(nationalScan))),
      },
      bannedAppRanking: {
        counters: summary(await sample(COUNTER_RUNS, 3, () => compliance.apps(NATIONAL_ADMIN))),
        scan: summary(await sample(SCAN_RUNS, 1, () => db.query(appsScan))),
      },
      rolloutProgress: {
        counters: summary(await sample(COUNTER_RUNS, 3, () => rollouts.get(NATIONAL_ADMIN, rolloutId))),
        scan: summary(await sample(SCAN_RUNS, 1, () => db.query(rolloutScan, [rolloutId]))),
      },
    };
    const speedup = Object.fromEntries(
      Object.entries(figures).map(([k, v]) => [k, Math.round((v.scan.p95 / v.counters.p95) * 10) / 10]),
    );

    // The counters say what the device table says.
    const view = await rollouts.get(NATIONAL_ADMIN, rolloutId);
    const scanned = (await db.query(rolloutScan, [rolloutId])) as { devices: number; converged: number }[];
    const national = await compliance.national(NATIONAL_ADMIN);
    const nationalScanned = (await db.query(nationalScan)) as { n: number; compliance: string }[];
    const agree = {
      rolloutDevices: view.totals.devices === scanned.reduce((n, r) => n + r.devices, 0),
      rolloutConverged: view.totals.converged === scanned.reduce((n, r) => n + r.converged, 0),
      phones: national.totals.phones === nationalScanned.reduce((n, r) => n + r.n, 0),
      compliant:
        national.totals.compliant ===
        nationalScanned.filter((r) => r.compliance === 'compliant').reduce((n, r) => n + r.n, 0),
    };

    const [snapshotRows, snapshotMs] = await timed(() => compliance.snapshot());
    // Compliance judged again after a policy change: one ministry's groups, through the evaluator.
    const cultureGroups = (
      (await db.query(`SELECT id FROM policy_group WHERE ministry_code = 'culture'`)) as { id: string }[]
    ).map((g) => g.id);
    const [recomputed, recomputeMs] = await timed(() => ctx.app.get(DeviceStateService).recomputeGroups(cultureGroups));

    const result = {
      devices: DEVICES,
      ministries: MINISTRIES,
      policyGroups: groups,
      national: national.totals,
      generateSeconds: seconds(generateMs),
      vacuumAnalyzeSeconds: seconds(analyzeMs),
      firstFoldSeconds: seconds(foldMs),
      counterRows,
      groupAppliesAtOnce: { rows: applying, seconds: seconds(applyingMs) },
      figuresMs: figures,
      speedupP95: speedup,
      countersAgreeWithScan: agree,
      dailySnapshot: { rows: snapshotRows, seconds: seconds(snapshotMs) },
      recomputeOneMinistry: {
        devices: recomputed,
        seconds: seconds(recomputeMs),
        perSecond: Math.round(recomputed / (recomputeMs / 1000)),
      },
      peakRssMB: Math.round(memory.stop() / 1024 / 1024),
    };
    console.log(JSON.stringify(result, null, 2));
    const failures = [
      ...Object.entries(speedup)
        .filter(([, x]) => x < 20)
        .map(([k, x]) => `${k}: ${x}x faster, 20x required`),
      ...Object.entries(agree)
        .filter(([, ok]) => !ok)
        .map(([k]) => `${k}: counters differ from the scan`),
      ...(snapshotMs > 60_000 ? [`daily snapshot took ${seconds(snapshotMs)} s (60 s allowed)`] : []),
      ...(result.peakRssMB > 1024 ? [`peak RSS ${result.peakRssMB} MB (1 GB allowed)`] : []),
    ];
    if (failures.length > 0) {
      console.error(`FAILED:\n  ${failures.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    await ctx.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
