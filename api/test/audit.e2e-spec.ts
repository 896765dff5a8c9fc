/**
 * The audit log: every write is recorded in the transaction of the change, in a hash chain that
 * `GET /audit/verify` walks to find a row edited, deleted in the middle or deleted at the end.
 * Reading it is limited to the ministries where one is it-admin or approver (national admins: all).
 */
import { Client } from 'pg';
import { createHmac } from 'node:crypto';
import { deriveAuditKeys, readAuditSecret } from '../src/audit/audit-keys';
import { canonicalJson } from '../src/common/canonical-hash';
import { SERVICE_ROLE } from '../src/database/service-role';
import { countRows, startTestApp, TestApp } from './support/test-app';

interface AuditRow {
  seq: number;
  action: string;
  entityType: string;
  entityId: string;
  ministryCode: string | null;
}

interface Verification {
  valid: boolean;
  checked: number;
  firstProblem?: { seq: number; problem: string };
}

async function agentId(t: TestApp, sub: string): Promise<string> {
  const [row] = (await t.db.query('SELECT id FROM agent WHERE sub = $1', [sub])) as { id: string }[];
  if (!row) throw new Error(`no agent ${sub}`);
  return row.id;
}

async function maxSeq(t: TestApp): Promise<number> {
  const [{ max }] = (await t.db.query('SELECT max(seq)::int AS max FROM audit_event')) as { max: number }[];
  return max;
}

/**
 * SQL as the tables' owner (the migrations' login): the service's own connection may not edit the
 * log, so tampering is simulated as someone holding the owner's password would do it.
 */
async function asOwner(t: TestApp, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: t.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

async function verify(t: TestApp): Promise<Verification> {
  return (await (await t.as('admin.national')).get('/audit/verify').expect(200)).body as Verification;
}

function app(slug: string, android: string[]) {
  return { slug, name: `Test ${slug}`, category: 'productivity', android, ios: [] as string[] };
}

describe('audit chain, through the API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** The seq of the catalog.app-added event written by the first test, tampered with later. */
  let appEventSeq: number;

  it('records each write with its actor and ministry, and verifies the whole chain as valid', async () => {
    const admin = await t.as('admin.national');
    const before = await maxSeq(t);
    expect(before).toBe(await countRows(t.db, 'audit_event'));

    await admin
      .post('/catalog/apps')
      .send(app('audit-test-app', ['fr.example.audit']))
      .expect(201);
    const target = await agentId(t, 'demo-synthetic-interieur-1');
    const granted = await admin
      .post(`/agents/${target}/roles`)
      .send({ role: 'approver', ministry: 'interieur' })
      .expect(201);
    expect(granted.body.roles.map((r: { role: string; ministry: string }) => `${r.role}@${r.ministry}`)).toContain(
      'approver@interieur',
    );
    await admin
      .post('/catalog/apps')
      .send(app('audit-test-app-2', ['fr.example.audit2']))
      .expect(201);

    const events = (await t.db.query(
      `SELECT seq::int, action, entity_type, entity_id, ministry_code, actor, actor_id, after FROM audit_event WHERE seq > $1 ORDER BY seq`,
      [before],
    )) as {
      seq: number;
      action: string;
      entity_type: string;
      entity_id: string;
      ministry_code: string | null;
      actor: string;
      actor_id: string | null;
      after: unknown;
    }[];
    expect(events.map((e) => [e.seq, e.action, e.entity_type, e.entity_id, e.ministry_code])).toEqual([
      [before + 1, 'catalog.app-added', 'app', 'audit-test-app', null],
      [before + 2, 'role.granted', 'agent', target, 'interieur'],
      [before + 3, 'catalog.app-added', 'app', 'audit-test-app-2', null],
    ]);
    const adminId = await agentId(t, 'demo-admin-national');
    for (const e of events) expect(e.actor_id).toBe(adminId);
    expect(events[0].after).toEqual(app('audit-test-app', ['fr.example.audit']));
    expect(events[1].after).toEqual({ role: 'approver', ministry: 'interieur' });
    appEventSeq = events[0].seq;

    // Each row links to the previous one, and the head remembers the last.
    const [{ broken }] = (await t.db.query(
      `SELECT count(*)::int AS broken FROM audit_event e JOIN audit_event p ON p.seq = e.seq - 1 WHERE e.prev_hash <> p.hash`,
    )) as { broken: number }[];
    expect(broken).toBe(0);
    const [head] = (await t.db.query('SELECT seq::int, hash FROM audit_head')) as { seq: number; hash: string }[];
    const [last] = (await t.db.query('SELECT hash FROM audit_event WHERE seq = $1', [before + 3])) as {
      hash: string;
    }[];
    expect(head).toEqual({ seq: before + 3, hash: last.hash });

    expect(await verify(t)).toEqual({ valid: true, checked: await countRows(t.db, 'audit_event') });
  });

  it('writes no audit row for a refused write, nor the change when its audit row cannot be written', async () => {
    const admin = await t.as('admin.national');
    const rows = await countRows(t.db, 'audit_event');
    const apps = await countRows(t.db, 'app');

    const invalid = await admin
      .post('/catalog/apps')
      .send({ slug: 'Not A Slug', name: 'X', category: 'productivity', android: [], ios: [] })
      .expect(400);
    expect(invalid.body.code).toBe('catalog.invalid-app');
    const duplicate = await admin
      .post('/catalog/apps')
      .send(app('audit-test-app', ['fr.example.other']))
      .expect(409);
    expect(duplicate.body.code).toBe('catalog.app-exists');
    const target = await agentId(t, 'demo-synthetic-interieur-1');
    const again = await admin
      .post(`/agents/${target}/roles`)
      .send({ role: 'approver', ministry: 'interieur' })
      .expect(409);
    expect(again.body.code).toBe('directory.role-exists');
    expect(await countRows(t.db, 'audit_event')).toBe(rows);
    expect(await countRows(t.db, 'app')).toBe(apps);

    // The audit insert fails after the change was made: the change must be rolled back with it.
    await asOwner(
      t,
      `CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$`,
    );
    await asOwner(
      t,
      `CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`,
    );
    try {
      await admin
        .post('/catalog/apps')
        .send(app('audit-unrecorded', ['fr.example.unrecorded']))
        .expect(500);
      await admin.post(`/agents/${target}/roles`).send({ role: 'it-admin', ministry: 'interieur' }).expect(500);
    } finally {
      await asOwner(t, 'DROP TRIGGER test_refuse_audit ON audit_event');
      await asOwner(t, 'DROP FUNCTION test_refuse_audit()');
    }
    expect(await countRows(t.db, 'app')).toBe(apps);
    expect(await t.db.query(`SELECT 1 FROM app WHERE slug = 'audit-unrecorded'`)).toEqual([]);
    expect(
      await t.db.query(`SELECT 1 FROM role_assignment WHERE agent_id = $1 AND role = 'it-admin'`, [target]),
    ).toEqual([]);
    expect(await countRows(t.db, 'audit_event')).toBe(rows);
    expect(await verify(t)).toEqual({ valid: true, checked: rows });
  });

  it('detects a row whose content was edited in SQL, at that row', async () => {
    const rows = await countRows(t.db, 'audit_event');
    expect(appEventSeq).toBeLessThan(rows); // in the middle of the chain
    await asOwner(t, `UPDATE audit_event SET after = '{"x":1}' WHERE seq = $1`, [appEventSeq]);
    const result = await verify(t);
    expect(result).toEqual({
      valid: false,
      checked: appEventSeq - 1,
      firstProblem: { seq: appEventSeq, problem: expect.stringContaining('modified') },
    });
  });

  it('lets only national admins verify the chain', async () => {
    const res = await (await t.as('it.interieur')).get('/audit/verify').expect(403);
    expect(res.body.message).toContain('verify the audit log');
    await (await t.as('agent.interieur')).get('/audit/verify').expect(403);
  });

  it("shows an IT admin only their ministry's events, and refuses another ministry's", async () => {
    const it = await t.as('it.interieur');
    const res = await it.get('/audit?limit=1000').expect(200);
    const events = res.body as AuditRow[];
    const [{ count }] = (await t.db.query(
      `SELECT count(*)::int AS count FROM audit_event WHERE ministry_code = 'interieur'`,
    )) as { count: number }[];
    expect(count).toBeGreaterThan(1);
    expect(events).toHaveLength(count);
    expect(new Set(events.map((e) => e.ministryCode))).toEqual(new Set(['interieur']));
    expect(events.map((e) => e.action)).toContain('role.granted'); // the grant of the first test
    expect(events.map((e) => Number(e.seq))).toEqual([...events.map((e) => Number(e.seq))].sort((a, b) => b - a));

    const other = await it.get('/audit?ministry=armees').expect(403);
    expect(other.body.message).toContain('for ministry "armees"');
    await it.get('/audit?ministry=interieur').expect(200);

    // A national admin sees everything, national events included.
    const all = (await (await t.as('admin.national')).get('/audit?limit=1000').expect(200)).body as AuditRow[];
    expect(all).toHaveLength(await countRows(t.db, 'audit_event'));
    expect(all.some((e) => e.ministryCode === null)).toBe(true);
  });

  it('refuses the audit log to a plain agent', async () => {
    const res = await (await t.as('agent.interieur')).get('/audit').expect(403);
    expect(res.body.message).toContain('read the audit log');
  });
});

describe('audit chain, deleted rows', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is valid on a fresh database', async () => {
    const rows = await countRows(t.db, 'audit_event');
    expect(rows).toBeGreaterThan(10);
    expect(await verify(t)).toEqual({ valid: true, checked: rows });
  });

  it('detects a row deleted in the middle, and is valid again once it is put back', async () => {
    const rows = await countRows(t.db, 'audit_event');
    const k = Math.floor(rows / 2);
    const [saved] = (await t.db.query('SELECT * FROM audit_event WHERE seq = $1', [k])) as Record<string, unknown>[];
    await asOwner(t, 'DELETE FROM audit_event WHERE seq = $1', [k]);
    expect(await verify(t)).toEqual({
      valid: false,
      checked: k - 1,
      firstProblem: { seq: k, problem: `event ${k} is missing (deleted)` },
    });

    const columns = Object.keys(saved);
    await t.db.query(
      `INSERT INTO audit_event (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((c) =>
        (c === 'before' || c === 'after') && saved[c] !== null ? JSON.stringify(saved[c]) : saved[c],
      ),
    );
    expect(await verify(t)).toEqual({ valid: true, checked: rows });
  });

  it('detects a row appended out of band even with a correctly computed hash (the head does not know it)', async () => {
    const rows = await countRows(t.db, 'audit_event');
    const [last] = (await t.db.query('SELECT hash FROM audit_event WHERE seq = $1', [rows])) as { hash: string }[];
    const at = new Date();
    const forged = {
      seq: rows + 1,
      at: at.toISOString(),
      actorId: null,
      actor: 'forger',
      action: 'role.granted',
      entityType: 'agent',
      entityId: 'x',
      ministryCode: null,
      before: null,
      after: null,
    };
    // Computed as the service would (the chain is an HMAC under the audit key): only the head does not know it.
    const key = deriveAuditKeys(readAuditSecret(process.env.AUDIT_KEY_FILE as string)).chainKey;
    const hash = createHmac('sha256', key)
      .update(last.hash + canonicalJson(forged))
      .digest('hex');
    await t.db.query(
      `INSERT INTO audit_event (seq, at, actor, action, entity_type, entity_id, prev_hash, hash) VALUES ($1, $2, 'forger', 'role.granted', 'agent', 'x', $3, $4)`,
      [rows + 1, at, last.hash, hash],
    );
    const result = await verify(t);
    expect(result).toEqual({
      valid: false,
      checked: rows,
      firstProblem: { seq: rows + 1, problem: expect.stringContaining('added outside the service') },
    });

    await asOwner(t, 'DELETE FROM audit_event WHERE seq = $1', [rows + 1]);
    expect(await verify(t)).toEqual({ valid: true, checked: rows });
  });

  it('detects the last row deleted (the head remembers it)', async () => {
    const rows = await countRows(t.db, 'audit_event');
    expect(await maxSeq(t)).toBe(rows);
    await asOwner(t, 'DELETE FROM audit_event WHERE seq = $1', [rows]);
    const result = await verify(t);
    expect(result).toEqual({
      valid: false,
      checked: rows - 1,
      firstProblem: {
        seq: rows,
        problem: expect.stringContaining(`ends at event ${rows - 1} but ${rows} were written`),
      },
    });
  });
});

describe('audit log, immutable for the service in the database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  function rowAt(seq: number): Promise<Record<string, unknown>[]> {
    return t.db.query('SELECT * FROM audit_event WHERE seq = $1', [seq]) as Promise<Record<string, unknown>[]>;
  }

  it('runs the service as the restricted role, not as a superuser nor the owner', async () => {
    const [me] = (await t.db.query(
      `SELECT current_user AS role, r.rolsuper AS super FROM pg_roles r WHERE r.rolname = current_user`,
    )) as { role: string; super: boolean }[];
    expect(me).toEqual({ role: SERVICE_ROLE, super: false });
    const [{ owner }] = (await t.db.query(
      `SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'audit_event'`,
    )) as { owner: string }[];
    expect(owner).not.toBe(SERVICE_ROLE);
  });

  it("refuses UPDATE, DELETE and TRUNCATE of audit events on the service's own connection, and the rows stay as written", async () => {
    const rows = await countRows(t.db, 'audit_event');
    const k = Math.floor(rows / 2);
    const before = await rowAt(k);
    const [head] = (await t.db.query('SELECT seq::int, hash FROM audit_head')) as { seq: number; hash: string }[];

    await expect(t.db.query(`UPDATE audit_event SET actor = 'someone else' WHERE seq = $1`, [k])).rejects.toThrow(
      'permission denied for table audit_event',
    );
    await expect(t.db.query('DELETE FROM audit_event WHERE seq = $1', [k])).rejects.toThrow(
      'permission denied for table audit_event',
    );
    await expect(t.db.query('DELETE FROM audit_event WHERE seq = $1', [rows])).rejects.toThrow(
      'permission denied for table audit_event',
    );
    await expect(t.db.query('TRUNCATE audit_event')).rejects.toThrow('permission denied for table audit_event');
    // Inside a transaction of the service, as the code would run it: the same refusal.
    await expect(t.db.transaction((tx) => tx.query('DELETE FROM audit_event'))).rejects.toThrow(
      'permission denied for table audit_event',
    );
    // The head may move forward (the chain appends through it), never be removed.
    await expect(t.db.query('DELETE FROM audit_head')).rejects.toThrow('permission denied for table audit_head');
    await expect(t.db.query('TRUNCATE audit_head')).rejects.toThrow('permission denied for table audit_head');
    // Nor may the service change the table's rules: it does not own it.
    await expect(t.db.query('ALTER TABLE audit_event DISABLE TRIGGER ALL')).rejects.toThrow(
      'must be owner of table audit_event',
    );

    expect(await rowAt(k)).toEqual(before);
    expect(await countRows(t.db, 'audit_event')).toBe(rows);
    expect(await t.db.query('SELECT seq::int, hash FROM audit_head')).toEqual([head]);
    expect(await verify(t)).toEqual({ valid: true, checked: rows });
  });

  it('still records the normal flows: decisions append to the chain, and jobs are queued', async () => {
    const rows = await countRows(t.db, 'audit_event');
    const jobs = await countRows(t.db, 'pgboss.job');
    const requested = await (
      await t.as('agent.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: 'Compte officiel du ministère pour la communication de crise.', days: 30 })
      .expect(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${requested.body.id}/approve`).send({}).expect(200);
    const events = (await t.db.query('SELECT action, entity_id FROM audit_event WHERE seq > $1 ORDER BY seq', [
      rows,
    ])) as { action: string; entity_id: string }[];
    expect(events).toEqual([
      { action: 'exemption.requested', entity_id: requested.body.id },
      { action: 'exemption.approved', entity_id: requested.body.id },
    ]);
    expect(await countRows(t.db, 'pgboss.job')).toBeGreaterThan(jobs);
    expect(await verify(t)).toEqual({ valid: true, checked: rows + 2 });
  });
});
