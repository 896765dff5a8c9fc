/**
 * Apple enrollment links (issue 16, item 6): single-use per device, expiring, revocable. A link
 * for one agent used to stay a reusable bearer URL, each download minting a new two-year identity.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { signDetached } from '../../tools/apple-sim/cms';
import { buildPlist, parseMobileconfig, payloadsOf, PlistDict } from '../../tools/apple-sim/mobileconfig';
import { identityFromPkcs12 } from '../../tools/apple-sim/pki';
import { AppleCaService } from '../../api/src/apple/apple-ca.service';
import { tokensFor, uploadPushCertificate } from './support/fuzz-targets';
import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
let server: Server;
let topic: string;

beforeAll(async () => {
  t = await startTestApp({
    apple: {
      serverBaseUrl: 'http://127.0.0.1:9',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
      // Small, so that downloads are served from the pool and, once it is empty, issued on the spot.
      identityPool: 2,
    },
  });
  server = t.app.getHttpServer() as Server;
  await uploadPushCertificate(
    { server, db: t.db, token: t.token },
    await tokensFor({ server, db: t.db, token: t.token }),
  );
});
afterAll(() => t.close());

interface Identity {
  certPem: string;
  keyPem: string;
}

async function agentId(sub: string): Promise<string> {
  const [row] = (await t.db.query('SELECT id FROM agent WHERE sub = $1', [sub])) as { id: string }[];
  return row.id;
}

async function createLink(body: Record<string, unknown>): Promise<{ id: string; path: string; devices: number }> {
  const res = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ expiresInHours: 24, ...body })
    .expect(201);
  return {
    id: res.body.id as string,
    path: new URL(res.body.url as string).pathname,
    devices: res.body.devices as number,
  };
}

/** Downloads the profile behind a link: its identity, or the refusal. */
async function download(
  path: string,
): Promise<{ status: number; body: { code?: string; message?: string }; identity?: Identity }> {
  const res = await request(server)
    .get(path)
    .buffer(true)
    .parse((r, done) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => done(null, Buffer.concat(chunks)));
    });
  if (res.status !== 200) return { status: res.status, body: JSON.parse((res.body as Buffer).toString('utf8')) };
  const payloads = payloadsOf(parseMobileconfig(res.body as Buffer).profile);
  const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm') as PlistDict;
  topic = mdm.Topic as string;
  const p12 = payloads.find((p) => p.PayloadUUID === mdm.IdentityCertificateUUID) as PlistDict;
  const decoded = identityFromPkcs12(p12.PayloadContent as Buffer, String(p12.Password ?? ''));
  return { status: 200, body: {}, identity: { certPem: decoded.certPem, keyPem: decoded.keyPem } };
}

function signed(path: string, message: PlistDict, identity: Identity, type: string): request.Test {
  const body = Buffer.from(buildPlist(message));
  return request(server)
    .put(path)
    .set('Content-Type', type)
    .set('Mdm-Signature', signDetached(body, identity))
    .send(body);
}

/** Installs the profile: Authenticate then TokenUpdate, as an iPhone does. */
async function enroll(
  identity: Identity,
  udid = randomUUID().toUpperCase(),
): Promise<{ status: number; code?: string; udid: string }> {
  const auth = await signed(
    '/mdm/checkin',
    { MessageType: 'Authenticate', Topic: topic, UDID: udid, DeviceName: 'iPhone', ProductName: 'iPhone15,2' },
    identity,
    'application/x-apple-aspen-mdm-checkin',
  );
  if (auth.status !== 200) return { status: auth.status, code: auth.body.code as string, udid };
  await signed(
    '/mdm/checkin',
    { MessageType: 'TokenUpdate', Topic: topic, UDID: udid, Token: Buffer.alloc(32, 3), PushMagic: randomUUID() },
    identity,
    'application/x-apple-aspen-mdm-checkin',
  ).expect(200);
  return { status: 200, udid };
}

function idle(identity: Identity, udid: string): request.Test {
  return signed('/mdm/server', { UDID: udid, Status: 'Idle' }, identity, 'application/x-apple-aspen-mdm');
}

it("enrolls one phone with an agent's link: once it enrolled, the link serves no more profiles", async () => {
  const link = await createLink({ agentId: await agentId('demo-agent-interieur') });
  expect(link.devices).toBe(1);
  const first = await download(link.path);
  expect(first.status).toBe(200);
  const phone = await enroll(first.identity as Identity);
  expect(phone.status).toBe(200);

  const identities = await countRows(t.db, 'apple_identity');
  for (let i = 0; i < 3; i++) {
    const again = await download(link.path);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('apple.enrollment-used');
    expect(again.body.message).toMatch(/already enrolled its phone/);
  }
  // No identity was minted by the refused downloads; the phone keeps working.
  expect(await countRows(t.db, 'apple_identity')).toBe(identities);
  await idle(first.identity as Identity, phone.udid).expect(200);
});

it('lets a phone download its profile again before enrolling: the earlier download is revoked', async () => {
  const link = await createLink({ agentId: await agentId('demo-presse-interieur') });
  const first = await download(link.path);
  const second = await download(link.path);
  expect([first.status, second.status]).toEqual([200, 200]);
  const stale = await enroll(first.identity as Identity);
  expect(stale).toMatchObject({ status: 403, code: 'apple.identity-revoked' });
  expect((await enroll(second.identity as Identity)).status).toBe(200);
  expect((await download(link.path)).body.code).toBe('apple.enrollment-used');
});

it('enrolls as many phones as a ministry-wide link is for, and no more', async () => {
  const link = await createLink({ devices: 2 });
  expect(link.devices).toBe(2);
  const a = await download(link.path);
  const b = await download(link.path);
  // Two phones may still enroll: two identities wait, a third download replaces the oldest.
  const c = await download(link.path);
  expect((await enroll(a.identity as Identity)).code).toBe('apple.identity-revoked');
  expect((await enroll(b.identity as Identity)).status).toBe(200);
  expect((await enroll(c.identity as Identity)).status).toBe(200);
  const d = await download(link.path);
  expect(d).toMatchObject({ status: 409, body: { code: 'apple.enrollment-used' } });
  expect(d.body.message).toMatch(/its 2 phones/);
  // An agent's link is for one phone.
  const refused = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ agentId: await agentId('demo-agent-interieur'), devices: 3 })
    .expect(400);
  expect(refused.body.code).toBe('apple.invalid-link');
});

it('serves identities from the pool and beyond it: each phone its own key and certificate, all enroll', async () => {
  const ca = t.app.get(AppleCaService);
  await ca.whenReady();
  expect(ca.ready).toBe(2);
  const link = await createLink({ devices: 5 });
  // Five at once: two from the pool, three issued on the spot (the pool refills meanwhile).
  const downloads = await Promise.all(Array.from({ length: 5 }, () => download(link.path)));
  const identities = downloads.map((d) => d.identity as Identity);
  expect(downloads.map((d) => d.status)).toEqual([200, 200, 200, 200, 200]);
  expect(new Set(identities.map((i) => i.keyPem)).size).toBe(5);
  expect(new Set(identities.map((i) => i.certPem)).size).toBe(5);
  for (const identity of identities) expect((await enroll(identity)).status).toBe(200);
  const phones = (await t.db.query(
    `SELECT count(DISTINCT d.apple_identity_serial)::int AS n FROM device d JOIN apple_identity i ON i.serial = d.apple_identity_serial WHERE i.enrollment_id = $1`,
    [link.id],
  )) as { n: number }[];
  expect(phones[0].n).toBe(5);
});

it('refuses an expired link', async () => {
  const link = await createLink({ devices: 5 });
  await t.db.query(`UPDATE apple_enrollment SET expires_at = now() - interval '1 minute' WHERE id = $1`, [link.id]);
  const res = await download(link.path);
  expect(res).toMatchObject({ status: 409, body: { code: 'apple.enrollment-expired' } });
});

it('revokes a link: no more downloads, waiting identities refused, phones it enrolled unaffected, audited', async () => {
  const link = await createLink({ devices: 3 });
  const enrolled = await download(link.path);
  const phone = await enroll(enrolled.identity as Identity);
  const waiting = await download(link.path);
  const it = await t.as('it.interieur');
  const listed = (await it.get('/ministries/interieur/apple/enrollment-links').expect(200)).body as {
    id: string;
    enrolled: number;
  }[];
  expect(listed.find((l) => l.id === link.id)).toMatchObject({ enrolled: 1, devices: 3, revokedAt: null });

  const revoked = await it.delete(`/ministries/interieur/apple/enrollment-links/${link.id}`).expect(200);
  expect(revoked.body).toMatchObject({ id: link.id, enrolled: 1, devices: 3 });
  expect(revoked.body.revokedAt).not.toBeNull();
  expect((await download(link.path)).body.code).toBe('apple.enrollment-revoked');
  expect((await enroll(waiting.identity as Identity)).code).toBe('apple.identity-revoked');
  await idle(enrolled.identity as Identity, phone.udid).expect(200);
  const again = await it.delete(`/ministries/interieur/apple/enrollment-links/${link.id}`).expect(409);
  expect(again.body.code).toBe('apple.enrollment-revoked');
  const listedAfter = (await it.get('/ministries/interieur/apple/enrollment-links').expect(200)).body as {
    id: string;
  }[];
  expect(listedAfter.map((l) => l.id)).not.toContain(link.id);
  const [event] = (await t.db.query(
    `SELECT action, after FROM audit_event WHERE entity_id = $1 ORDER BY seq DESC LIMIT 1`,
    [link.id],
  )) as { action: string; after: unknown }[];
  expect(event).toEqual({
    action: 'apple.enrollment-link-revoked',
    after: { identitiesRevoked: 1, phonesEnrolled: 1 },
  });
  // Another ministry's IT cannot revoke it, nor see it.
  await (await t.as('it.armees')).delete(`/ministries/interieur/apple/enrollment-links/${link.id}`).expect(403);
  await (await t.as('it.armees')).get('/ministries/interieur/apple/enrollment-links').expect(403);
  await it.delete('/ministries/interieur/apple/enrollment-links/not-a-uuid').expect(404);
});

it('re-enrolls a phone that left (CheckOut) with a new link; its old identity is refused from then on', async () => {
  const first = await download((await createLink({ devices: 1 })).path);
  const phone = await enroll(first.identity as Identity);
  expect(phone.status).toBe(200);
  // Its certificate proven (and remembered by fingerprint) by an Idle poll, before it is revoked.
  await idle(first.identity as Identity, phone.udid).expect(200);
  await signed(
    '/mdm/checkin',
    { MessageType: 'CheckOut', Topic: topic, UDID: phone.udid },
    first.identity as Identity,
    'application/x-apple-aspen-mdm-checkin',
  ).expect(200);
  const second = await download((await createLink({ devices: 1 })).path);
  expect(await enroll(second.identity as Identity, phone.udid)).toMatchObject({ status: 200 });
  await idle(second.identity as Identity, phone.udid).expect(200);
  const stale = await idle(first.identity as Identity, phone.udid).expect(403);
  expect(stale.body.code).toBe('apple.identity-revoked');
  const [device] = (await t.db.query(
    `SELECT count(*)::int AS n, bool_and(unenrolled_at IS NULL) AS enrolled FROM device WHERE apple_udid = $1`,
    [phone.udid],
  )) as { n: number; enrolled: boolean }[];
  expect(device).toEqual({ n: 1, enrolled: true });
});

it('refuses a second identity for a phone that is still enrolled (no silent takeover of its UDID)', async () => {
  const first = await download((await createLink({ devices: 1 })).path);
  const phone = await enroll(first.identity as Identity);
  const other = await download((await createLink({ devices: 1 })).path);
  expect(await enroll(other.identity as Identity, phone.udid)).toMatchObject({
    status: 409,
    code: 'apple.udid-enrolled',
  });
  await idle(first.identity as Identity, phone.udid).expect(200);
});
