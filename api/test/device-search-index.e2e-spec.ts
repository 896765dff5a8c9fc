import { Client } from 'pg';
import { deviceListQueries } from '../src/devices/devices.service';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The IT devices search (GET /ministries/{code}/devices?q=) at the size of a big ministry: every
 * place it looks — the phone's name, model, Android name, UDID, serial, its agent's address and
 * name — is answered from an index, so that a search never reads the whole fleet. Checked on the
 * plans PostgreSQL chooses for the SQL the list runs (no setting turned off), after ANALYZE.
 */
const PHONES = 30_000;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  // One agent per phone; 40 % iPhones (UDID and serial), the rest Android (an AMAPI name); every value distinct.
  await t.db.query(
    `INSERT INTO agent (sub, email, ministry_code, given_name, usual_name)
     SELECT 'search-' || n, 'agent.' || lpad(n::text, 6, '0') || '@interieur.gouv.fr', 'interieur', 'Prénom' || n, 'Nom' || n
     FROM generate_series(1, $1) n`,
    [PHONES],
  );
  await t.db.query(
    `INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, model, android_device_name, apple_udid, apple_identity_serial)
     SELECT CASE WHEN n % 5 < 2 THEN 'ios' ELSE 'android' END, 'company', a.id, 'interieur',
            'Téléphone ' || lpad(n::text, 6, '0'),
            (ARRAY['Pixel 8', 'Galaxy S24', 'iPhone 15', 'Fairphone 5'])[1 + n % 4] || ' rév. ' || n,
            CASE WHEN n % 5 >= 2 THEN 'enterprises/LC0search/devices/' || md5('android' || n) END,
            CASE WHEN n % 5 < 2 THEN upper(md5('udid' || n)) END,
            CASE WHEN n % 5 < 2 THEN 'SER' || upper(substr(md5('serial' || n), 1, 9)) END
     FROM (SELECT a.id, substr(a.sub, 8)::int AS n FROM agent a WHERE a.sub LIKE 'search-%') a`,
  );
  // As the tables' owner (the service role may not), as autovacuum does after such a load: VACUUM
  // refreshes the trigram indexes' own statistics, which the planner's cost of a GIN scan rests on.
  const owner = new Client({ connectionString: t.databaseUrl });
  await owner.connect();
  try {
    await owner.query('VACUUM ANALYZE device, agent');
  } finally {
    await owner.end();
  }
}, 240_000);
afterAll(() => t?.close());

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** The plan PostgreSQL chooses for the list's count and page queries, as the service builds them. */
async function plansFor(q: string): Promise<PlanNode[]> {
  const { count, page } = deviceListQueries(t.db, 'interieur', { q }, null);
  const out: PlanNode[] = [];
  for (const query of [count.select('count(*)'), page]) {
    const [sql, params] = query.getQueryAndParameters();
    const [row] = (await t.db.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)) as {
      'QUERY PLAN': { Plan: PlanNode }[];
    }[];
    out.push(row['QUERY PLAN'][0].Plan);
  }
  return out;
}

/** A search term found in only one place, of one phone: the index that place is searched with. */
const BRANCHES: { where: string; q: (n: number) => Promise<string>; index: string }[] = [
  { where: 'name', q: async (n) => `phone ${String(n).padStart(6, '0')}`, index: 'device_name_trgm_idx' },
  { where: 'model', q: async (n) => `rev. ${n}`, index: 'device_model_trgm_idx' },
  {
    where: 'Android name',
    q: async (n) => (await column('android_device_name', n)).slice(-12),
    index: 'device_android_device_name_trgm_idx',
  },
  { where: 'UDID', q: async (n) => (await column('apple_udid', n)).slice(4, 16), index: 'device_apple_udid_trgm_idx' },
  {
    where: 'serial',
    q: async (n) => (await column('apple_identity_serial', n)).slice(2),
    index: 'device_apple_identity_serial_trgm_idx',
  },
  { where: 'agent address', q: async (n) => `agent.${String(n).padStart(6, '0')}@`, index: 'agent_email_trgm_idx' },
  { where: 'agent name', q: async (n) => `prenom${n} nom${n}`, index: 'agent_name_trgm_idx' },
];

async function column(name: string, n: number): Promise<string> {
  const [row] = (await t.db.query(
    `SELECT d.${name} AS v FROM device d JOIN agent a ON a.id = d.agent_id WHERE a.sub = $1`,
    [`search-${n}`],
  )) as { v: string | null }[];
  if (!row?.v) throw new Error(`phone ${n} has no ${name}`);
  return row.v;
}

describe('the devices search at 30,000 phones', () => {
  it.each(BRANCHES)('finds a phone by its $where through $index, reading no table whole', async (branch) => {
    // Phone 12,346 is an iPhone (n % 5 < 2), 12,347 an Android phone.
    const n = branch.index.includes('apple') ? 12_346 : 12_347;
    const q = await branch.q(n);
    const as = await t.as('it.interieur');
    const found = (await as.get(`/ministries/interieur/devices?q=${encodeURIComponent(q)}`).expect(200)).body as {
      total: number;
      items: { displayName: string }[];
    };
    expect(found.items.map((d) => d.displayName)).toContain(`Téléphone ${String(n).padStart(6, '0')}`);
    expect(found.total).toBeLessThanOrEqual(11);

    for (const plan of await plansFor(q)) {
      const all = nodes(plan);
      const scanned = all.filter((p) => p['Node Type'] === 'Seq Scan').map((p) => p['Relation Name']);
      expect({ q, seqScans: scanned }).toEqual({ q, seqScans: [] });
      expect(all.map((p) => p['Index Name']).filter(Boolean)).toContain(branch.index);
    }
  });
});

describe('the devices list page size', () => {
  it('gives up to 100 phones a page and refuses more with a sentence, writing nothing', async () => {
    const as = await t.as('it.interieur');
    const page = (await as.get('/ministries/interieur/devices?compliance=unknown&limit=100').expect(200)).body as {
      items: unknown[];
      nextCursor: string | null;
    };
    expect(page.items).toHaveLength(100);
    expect(page.nextCursor).not.toBeNull();
    const refused = await as.get('/ministries/interieur/devices?limit=101').expect(400);
    expect(refused.body.message).toBe('limit must be at most 100 phones per page: follow nextCursor for the next ones');
  });
});
