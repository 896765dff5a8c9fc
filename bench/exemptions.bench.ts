import { Principal } from '../api/src/auth/principal';
import { DirectoryService } from '../api/src/directory/directory.service';
import { ExemptionsService } from '../api/src/exemptions/exemptions.service';
import { BenchContext, benchContext, progressBar, summary, timed } from './support';

const PENDING = Number(process.env.BENCH_PENDING ?? 10_000);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 300);
const QUERY_RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 200);
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
];

async function seedPending(ctx: BenchContext): Promise<void> {
  const bar = progressBar(`seeding ${PENDING} requests`, PENDING);
  const batch = 2000;
  for (let from = 0; from < PENDING; from += batch) {
    const n = Math.min(batch, PENDING - from);
    // One synthetic agent (with a phone) per request, spread over the ministries, requested over 60 days.
    await ctx.db.query(
      `WITH m AS (SELECT array_agg(code ORDER BY code) AS codes, array_agg(email_domains[1] ORDER BY code) AS domains FROM ministry),
            s AS (SELECT g, (g % array_length(m.codes, 1)) + 1 AS k, m.codes, m.domains FROM generate_series($1::int, $1::int + $2::int - 1) g, m),
            a AS (INSERT INTO agent (sub, email, given_name, usual_name, ministry_code)
                  SELECT 'bench-' || g, 'bench' || g || '@' || domains[k], 'Agent', 'Bench ' || g, codes[k] FROM s RETURNING id, ministry_code, sub),
            d AS (INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name)
                  SELECT CASE WHEN random() < 0.4 THEN 'ios' ELSE 'android' END, 'company', id, ministry_code, 'Téléphone de ' || sub FROM a RETURNING agent_id)
       INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at)
       SELECT a.id, a.ministry_code, ($3::text[])[1 + (abs(hashtext(a.sub)) % array_length($3::text[], 1))],
              'Besoin institutionnel de communication (banc d''essai)', 30, 'pending', now() - (random() * interval '60 days')
         FROM a WHERE (SELECT count(*) FROM d) >= 0`,
      [from, n, EXEMPTABLE],
    );
    bar.tick(n);
  }
  bar.done();
  await ctx.db.query('ANALYZE');
}

async function main(): Promise<void> {
  const ctx = await benchContext('mdm_bench_exemptions');
  try {
    await seedPending(ctx);
    const directory = ctx.app.get(DirectoryService);
    const exemptions = ctx.app.get(ExemptionsService);
    const approver: Principal = await directory.principalFor({ sub: 'demo-approver-interieur' });
    const national: Principal = await directory.principalFor({ sub: 'demo-admin-national' });
    const [{ n: pendingInterieur }] = await ctx.db.query(
      `SELECT count(*)::int AS n FROM exemption WHERE status = 'pending' AND ministry_code = 'interieur'`,
    );

    const ids = (await ctx.db.query(
      `SELECT id FROM exemption WHERE status = 'pending' AND ministry_code = 'interieur' ORDER BY random() LIMIT $1`,
      [DECISIONS],
    )) as { id: string }[];
    const bar = progressBar('approve → desired hash', ids.length);
    const decisions: number[] = [];
    for (const { id } of ids) {
      decisions.push((await timed(() => exemptions.approve(approver, id, {})))[1]);
      bar.tick();
    }
    bar.done();
    const queries: Record<string, () => Promise<unknown>> = {
      'queue: pending, oldest first (50)': () => exemptions.queue(approver, 'interieur', {}),
      'queue: filtered by app': () => exemptions.queue(approver, 'interieur', { app: 'tiktok' }),
      'queue: older than 30 days': () => exemptions.queue(approver, 'interieur', { minAgeDays: 30 }),
      'queue: page 20 (offset 1000)': () => exemptions.queue(approver, 'interieur', { offset: 1000 }),
      'queue: national admin, approved': () => exemptions.queue(national, 'economie', { status: 'approved' }),
      'register (active exemptions)': () => exemptions.register(approver, 'interieur'),
    };
    const queryResults: Record<string, ReturnType<typeof summary>> = {};
    for (const [label, run] of Object.entries(queries)) {
      const bar = progressBar(label.slice(0, 28), QUERY_RUNS);
      const samples: number[] = [];
      for (let i = 0; i < QUERY_RUNS; i++) {
        samples.push((await timed(run))[1]);
        bar.tick();
      }
      bar.done();
      queryResults[label] = summary(samples);
    }

    const [{ fresh }] = await ctx.db.query(
      `SELECT count(*)::int AS fresh FROM device d JOIN exemption e ON e.agent_id = d.agent_id WHERE e.id = ANY($1) AND d.desired_hash IS NOT NULL`,
      [ids.map((r) => r.id)],
    );

    const result = {
      pendingRequests: PENDING,
      pendingInOneMinistry: pendingInterieur,
      decisionToRecomputedPolicyMs: summary(decisions),
      devicesRecomputed: fresh,
      queriesMs: queryResults,
    };
    console.log(JSON.stringify(result, null, 2));
    const worst = Math.max(...Object.values(queryResults).map((q) => q.p95));
    console.log(`\nworst list/filter p95: ${worst} ms (target < 50 ms) — ${worst < 50 ? 'OK' : 'OVER TARGET'}`);
  } finally {
    await ctx.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
