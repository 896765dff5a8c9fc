import { foldedSql } from '../src/common/keyset-cursor';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The IT devices list and the roles page's agents list, at the size of a ministry: searched on the
 * server and paged on a keyset, each matching row exactly once and in order, never another ministry's.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // 130 phones and 130 people in interieur whose names say "paging"; the same in armees, never to be seen.
  for (const ministry of ['interieur', 'armees']) {
    await t.db.query(
      `INSERT INTO agent (sub, email, ministry_code, given_name, usual_name)
       SELECT 'paging-' || $1 || '-' || n, 'paging.' || lpad(n::text, 3, '0') || '@' || $1 || '.gouv.fr', $1, 'Agent', 'Pagination ' || n
       FROM generate_series(1, 130) n`,
      [ministry],
    );
    await t.db.query(
      `INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, model)
       SELECT 'android', 'company', a.id, a.ministry_code, 'Téléphone ' || split_part(a.email, '@', 1), 'Pixel 8'
       FROM agent a WHERE a.email LIKE 'paging.%@' || $1 || '.gouv.fr'`,
      [ministry],
    );
  }
});
afterAll(() => t.close());

interface Page<T> {
  total: number;
  items: T[];
  nextCursor: string | null;
}

/** Follows nextCursor from the first page to the last; every page no longer than `limit`. */
async function all<T>(login: string, path: string, limit: number): Promise<{ rows: T[]; pages: number }> {
  const as = await t.as(login);
  const rows: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const url: string = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = (await as.get(url).expect(200)).body as Page<T>;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    rows.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { rows, pages };
}

const sorted = (xs: string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('GET /ministries/:code/devices', () => {
  it('searches by agent email and pages on a keyset: each phone once, in name order, none of armees', async () => {
    const { rows, pages } = await all<{ id: string; displayName: string; ministryCode: string }>(
      'it.interieur',
      '/ministries/interieur/devices?q=PAGING.',
      50,
    );
    expect(pages).toBe(3);
    expect(rows).toHaveLength(130);
    expect(new Set(rows.map((d) => d.id)).size).toBe(130);
    expect(rows.every((d) => d.ministryCode === 'interieur')).toBe(true);
    const names = rows.map((d) => d.displayName);
    expect(names).toEqual(sorted(names));
    expect(names[0]).toBe('Téléphone paging.001');
    expect(names[129]).toBe('Téléphone paging.130');
  });

  it('finds by name, model or agent name, case-insensitively, and tells how many match', async () => {
    const as = await t.as('it.interieur');
    const byName = (await as.get('/ministries/interieur/devices?q=phone%20PAGING.12').expect(200)).body as Page<{
      displayName: string;
    }>;
    // paging.120 to paging.129 (not paging.012)
    expect(byName.total).toBe(10);
    expect(byName.items.map((d) => d.displayName)).toContain('Téléphone paging.125');
    expect(byName.nextCursor).toBeNull();
    const byAgent = (await as.get('/ministries/interieur/devices?q=pagination%20107').expect(200)).body as Page<{
      displayName: string;
    }>;
    expect(byAgent.items.map((d) => d.displayName)).toEqual(['Téléphone paging.107']);
    // Without its accents, as people type it.
    const unaccented = (await as.get('/ministries/interieur/devices?q=TELEPHONE%20paging.107').expect(200))
      .body as Page<{ displayName: string }>;
    expect(unaccented.items.map((d) => d.displayName)).toEqual(['Téléphone paging.107']);
    // A wildcard is taken literally: no phone name holds a "%".
    expect((await as.get('/ministries/interieur/devices?q=%25').expect(200)).body.total).toBe(0);
  });

  it('refuses a cursor it did not give with a sentence, and another ministry’s list', async () => {
    const as = await t.as('it.interieur');
    const bad = await as.get('/ministries/interieur/devices?cursor=not-a-cursor').expect(400);
    expect(bad.body.code).toBe('device.invalid-cursor');
    expect(bad.body.message).toMatch(/nextCursor of a previous page/);
    await (await t.as('it.interieur')).get('/ministries/armees/devices?q=paging').expect(403);
  });
});

describe('GET /ministries/:code/agents', () => {
  it('searches by email and pages on a keyset: each agent once, by email, none of armees', async () => {
    const { rows, pages } = await all<{ id: string; email: string; ministry: string }>(
      'admin.national',
      '/ministries/interieur/agents?q=Paging',
      40,
    );
    expect(pages).toBe(4);
    expect(rows).toHaveLength(130);
    expect(new Set(rows.map((a) => a.id)).size).toBe(130);
    expect(rows.every((a) => a.ministry === 'interieur' && a.email.endsWith('@interieur.gouv.fr'))).toBe(true);
    const emails = rows.map((a) => a.email);
    expect(emails).toEqual(sorted(emails));
  });

  it('finds by name, and refuses a limit over 200 or a forged cursor', async () => {
    const as = await t.as('admin.national');
    const page = (await as.get('/ministries/interieur/agents?q=agent%20pagination%2042').expect(200)).body as Page<{
      email: string;
    }>;
    expect(page.items.map((a) => a.email)).toEqual(['paging.042@interieur.gouv.fr']);
    await as.get('/ministries/interieur/agents?limit=201').expect(400);
    const forged = Buffer.from(JSON.stringify(['x', 'not-a-uuid'])).toString('base64url');
    const bad = await as.get(`/ministries/interieur/agents?cursor=${forged}`).expect(400);
    expect(bad.body.code).toBe('directory.invalid-cursor');
    expect(bad.body.message).toMatch(/nextCursor/);
  });
});

describe('the searches’ indexes', () => {
  // Whether the planner *can* answer from an index (sequential scans off): the SQL the services send and
  // the migration's index expressions must fold text the same way, or every search reads the whole table.
  it('serves the agents search from trigram indexes', async () => {
    await t.db.query('ANALYZE agent');
    const plan = async (sql: string) =>
      t.db.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        return ((await tx.query(`EXPLAIN ${sql}`)) as { 'QUERY PLAN': string }[])
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      });
    expect(
      await plan(
        `SELECT id FROM agent a WHERE ${foldedSql('a.email')} LIKE '%paging.04%' OR ${foldedSql(`a.given_name || ' ' || a.usual_name`)} LIKE '%paging.04%'`,
      ),
    ).toMatch(/agent_email_trgm_idx[\s\S]*agent_name_trgm_idx/);
  });
});
