/**
 * An audit log that survives its own database (issue 16, item 3). The chain is keyed (HMAC under a
 * key kept outside the database) and anchored (signed checkpoints of its head written outside it,
 * and kept by a national admin), and the service logs in as a role that is neither superuser nor
 * owner, on the embedded PostgreSQL too. Tampering is done as the tables' owner, as someone holding
 * the owner's password (or a superuser) would.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { deriveAuditKeys, readAuditSecret } from '../src/audit/audit-keys';
import { AuditService } from '../src/audit/audit.service';
import { canonicalJson } from '../src/common/canonical-hash';
import { loadConfig } from '../src/config/app-config';
import { resolveDatabase } from '../src/database/database-url';
import { runMigrations } from '../src/database/data-source';
import { checkServiceLogin } from '../src/database/service-role';
import { countRows, startTestApp, TestApp } from './support/test-app';

interface Verification {
  valid: boolean;
  checked: number;
  firstProblem?: { seq: number; problem: string };
  checkpoint?: { seq: number; at: string };
}

interface EventRow {
  seq: string;
  at: Date;
  actor_id: string | null;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  ministry_code: string | null;
  before: unknown;
  after: unknown;
}

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

function content(r: EventRow): string {
  return canonicalJson({
    seq: Number(r.seq),
    at: r.at.toISOString(),
    actorId: r.actor_id,
    actor: r.actor,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    ministryCode: r.ministry_code,
    before: r.before ?? null,
    after: r.after ?? null,
  });
}

/**
 * The rewrite of issue 16: event `seq` gets another actor, then every hash from there on and the head
 * are recomputed, with plain SHA-256 (what the chain used to be), or with the chain key when `key` is
 * given (someone who also stole the key file).
 */
async function rewrite(t: TestApp, seq: number, actor: string, key?: Buffer): Promise<void> {
  const client = new Client({ connectionString: t.databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`UPDATE audit_event SET actor = $2 WHERE seq = $1`, [seq, actor]);
    const [prev] = (await client.query('SELECT hash FROM audit_event WHERE seq = $1', [seq - 1])).rows as {
      hash: string;
    }[];
    let prevHash = prev?.hash ?? '0'.repeat(64);
    const rows = (await client.query('SELECT * FROM audit_event WHERE seq >= $1 ORDER BY seq', [seq]))
      .rows as EventRow[];
    for (const r of rows) {
      const hash = key
        ? createHmac('sha256', key)
            .update(prevHash + content(r))
            .digest('hex')
        : createHash('sha256')
            .update(prevHash + content(r))
            .digest('hex');
      await client.query('UPDATE audit_event SET prev_hash = $2, hash = $3 WHERE seq = $1', [r.seq, prevHash, hash]);
      prevHash = hash;
    }
    await client.query('UPDATE audit_head SET hash = $1 WHERE id = 1', [prevHash]);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

async function someEvents(t: TestApp, n: number): Promise<void> {
  const admin = await t.as('admin.national');
  for (let i = 0; i < n; i++)
    await admin
      .post('/catalog/apps')
      .send({
        slug: `anchored-${Date.now()}-${i}`,
        name: 'Test',
        category: 'productivity',
        android: [`fr.a${i}.x${Date.now()}`],
        ios: [],
      })
      .expect(201);
}

function checkpointFile(t: TestApp): string {
  const database = new URL(t.databaseUrl).pathname.slice(1);
  return join(process.env.AUDIT_CHECKPOINT_DIR as string, `${database}.jsonl`);
}

const chainKey = () => deriveAuditKeys(readAuditSecret(process.env.AUDIT_KEY_FILE as string)).chainKey;

describe('a keyed chain', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('detects an event edited by the owner who then recomputed the plain chain and the head', async () => {
    await someEvents(t, 3);
    const rows = await countRows(t.db, 'audit_event');
    expect(await verify(t)).toEqual({ valid: true, checked: rows });
    const k = rows - 2;
    await rewrite(t, k, 'Quelqu’un d’autre <forge@interieur.gouv.fr>');
    // Every link is consistent as plain SHA-256, the head matches the last row: only the key tells.
    expect(await verify(t)).toEqual({
      valid: false,
      checked: k - 1,
      firstProblem: { seq: k, problem: 'content was modified after it was written' },
    });
  });
});

describe('signed checkpoints outside the database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('are made for national admins only, written to AUDIT_CHECKPOINT_DIR, and verification is anchored to the latest', async () => {
    await (await t.as('it.interieur')).post('/audit/checkpoints').expect(403);
    await someEvents(t, 2);
    const rows = await countRows(t.db, 'audit_event');
    const made = await (await t.as('admin.national')).post('/audit/checkpoints').expect(201);
    expect(made.body).toMatchObject({ format: 'mdm-apps-etat/audit-checkpoint/1', seq: rows });
    expect(made.body.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const lines = readFileSync(checkpointFile(t), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1])).toEqual(made.body);
    await someEvents(t, 1);
    expect(await verify(t)).toEqual({ valid: true, checked: rows + 1, checkpoint: { seq: rows, at: made.body.at } });
  });

  it('catch the newest events deleted and the head moved back (a valid, shorter chain)', async () => {
    const rows = await countRows(t.db, 'audit_event');
    await (await t.as('admin.national')).post('/audit/checkpoints').expect(201);
    await asOwner(t, 'DELETE FROM audit_event WHERE seq > $1', [rows - 2]);
    await asOwner(t, 'UPDATE audit_head SET seq = $1, hash = (SELECT hash FROM audit_event WHERE seq = $1)', [
      rows - 2,
    ]);
    const result = await verify(t);
    expect(result).toMatchObject({ valid: false, checked: rows - 2 });
    expect(result.firstProblem?.problem).toMatch(
      new RegExp(`^the log ends at event ${rows - 2}, but the signed checkpoint of .* recorded ${rows} events`),
    );
  });
});

describe('a rewrite by someone who also has the key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is caught by the checkpoint on disk, and by the one a national admin kept when the file is gone too', async () => {
    await someEvents(t, 3);
    const admin = await t.as('admin.national');
    const kept = (await admin.post('/audit/checkpoints').expect(201)).body as { seq: number };
    await someEvents(t, 1);
    // The kept checkpoint verifies the current log.
    const fine = (await admin.post('/audit/verify').send(kept).expect(200)).body as Verification;
    expect(fine).toMatchObject({ valid: true, checkpoint: { seq: kept.seq } });

    await rewrite(t, kept.seq - 1, 'Quelqu’un d’autre <forge@interieur.gouv.fr>', chainKey());
    expect((await verify(t)).firstProblem).toEqual({
      seq: kept.seq,
      problem: expect.stringMatching(
        /^event \d+ no longer has the hash the signed checkpoint of .* recorded: the log was rewritten since/,
      ),
    });

    // The attacker also removes the checkpoint file: the copy the admin kept still tells.
    rmSync(checkpointFile(t), { force: true });
    expect((await verify(t)).valid).toBe(true);
    const caught = (await admin.post('/audit/verify').send(kept).expect(200)).body as Verification;
    expect(caught).toMatchObject({ valid: false, firstProblem: { seq: kept.seq } });
  });

  it('cannot forge or alter a checkpoint: its signature is checked against the key', async () => {
    const admin = await t.as('admin.national');
    const kept = (await admin.post('/audit/checkpoints').expect(201)).body as { seq: number; hash: string };
    const altered = await admin
      .post('/audit/verify')
      .send({ ...kept, seq: kept.seq - 1 })
      .expect(400);
    expect(altered.body).toMatchObject({ code: 'audit.invalid-checkpoint' });
    expect(altered.body.message).toMatch(/its signature does not verify with the log's key/);
    // An altered line in the file is reported, not ignored.
    appendFileSync(checkpointFile(t), `${JSON.stringify({ ...kept, hash: '0'.repeat(64) })}\n`);
    expect((await verify(t)).firstProblem).toEqual({
      seq: 0,
      problem: expect.stringMatching(
        /^the checkpoint file was altered: line \d+ of .* does not carry a valid signature/,
      ),
    });
  });
});

describe('periodic checkpoints (worker job)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('write one when the head moved, and none when it did not', async () => {
    const audit = t.app.get(AuditService);
    const first = await audit.checkpointIfMoved();
    expect(first?.seq).toBe(await countRows(t.db, 'audit_event'));
    expect(await audit.checkpointIfMoved()).toBeNull();
    await someEvents(t, 1);
    expect((await audit.checkpointIfMoved())?.seq).toBe((first?.seq ?? 0) + 1);
    expect(readFileSync(checkpointFile(t), 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('the service login', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is neither superuser nor owner, and cannot switch to the owner to rewrite the log', async () => {
    const serviceUrl = (t.db.options as { url: string }).url;
    expect(await checkServiceLogin(serviceUrl)).toEqual({ login: 'mdm_api', superuser: false, owner: false });
    const client = new Client({ connectionString: serviceUrl });
    await client.connect();
    try {
      const owner = new URL(t.databaseUrl).username;
      await expect(client.query(`SET ROLE ${owner}`)).rejects.toThrow(/permission denied to set role/);
      await client.query('RESET ROLE');
      await expect(client.query(`UPDATE audit_event SET actor = 'x' WHERE seq = 1`)).rejects.toThrow(
        'permission denied for table audit_event',
      );
      await expect(client.query(`ALTER TABLE audit_event DISABLE TRIGGER ALL`)).rejects.toThrow(/must be owner/);
    } finally {
      await client.end();
    }
  });

  it('on the embedded PostgreSQL of npm start, is a member of the service role only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdm-embedded-login-'));
    const port = 56000 + Math.floor(Math.random() * 2000);
    const db = await resolveDatabase(loadConfig({ EMBEDDED_PG_DIR: join(dir, 'pg'), EMBEDDED_PG_PORT: String(port) }));
    try {
      await runMigrations(db.migrationUrl);
      expect(existsSync(join(dir, 'service-login.password'))).toBe(true);
      expect(await checkServiceLogin(db.url)).toEqual({ login: 'mdm_api', superuser: false, owner: false });
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        await expect(client.query('SET ROLE mdm')).rejects.toThrow(/permission denied to set role/);
        const [me] = (await client.query('SELECT current_user AS role')).rows as { role: string }[];
        expect(me.role).toBe('mdm_service');
      } finally {
        await client.end();
      }
    } finally {
      await db.embedded?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
