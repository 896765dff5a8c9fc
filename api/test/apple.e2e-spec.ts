import forge from 'node-forge';
import { ApnsService } from '../src/apple/apns.service';
import { MdmProtocolService } from '../src/apple/mdm-protocol.service';
import { ExemptionSchedulerService } from '../src/exemptions/exemption-scheduler.service';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import { FakeApns, startFakeApns } from '../../tools/apple-sim/fake-apns';
import {
  createIdentity,
  createMdmPushCertificate,
  createServerCertificate,
  createTestCa,
} from '../../tools/apple-sim/pki';
import { drainRolloutJobs } from './support/drain-jobs';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

let t: TestApp;
let apns: FakeApns;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);
const phones: SimulatedIPhone[] = [];

async function agentId(sub: string): Promise<string> {
  return (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
}

/** The agent's iPhone: enrollment link from IT, profile download, check-in, first policy. */
async function enrollIPhone(
  agentSub: string,
  opts: {
    installedApps?: { bundleId: string; managed?: boolean; name?: string }[];
    supervised?: boolean;
    notNowRate?: number;
    random?: () => number;
  } = {},
): Promise<SimulatedIPhone> {
  const link = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ agentId: await agentId(agentSub), expiresInHours: 24 })
    .expect(201);
  const profile = await fetch(link.body.url);
  expect(profile.headers.get('content-type')).toContain('application/x-apple-aspen-config');
  const phone = SimulatedIPhone.fromEnrollmentProfile(Buffer.from(await profile.arrayBuffer()), {
    installedApps: opts.installedApps ?? [],
    supervised: opts.supervised ?? true,
    notNowRate: opts.notNowRate ?? 0,
    random: opts.random,
  });
  phone.connectTo(apns);
  await phone.enroll();
  phones.push(phone);
  await converge();
  return phone;
}

/** Runs the rollout jobs; APNs wakes the phones, which poll until the server has nothing more. */
async function converge(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await drainRolloutJobs(t);
    await new Promise((r) => setTimeout(r, 150));
    for (const phone of phones) await phone.poll();
  }
}

function ApnsServiceOf(app: TestApp): ApnsService {
  return app.app.get(ApnsService);
}

async function deviceOf(phone: SimulatedIPhone) {
  const [row] = await t.db.query(`SELECT id FROM device WHERE apple_udid = $1`, [phone.udid]);
  return (await (await t.as('it.interieur')).get(`/devices/${row.id}`).expect(200)).body;
}

beforeAll(async () => {
  apns = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const port = await freePort();
  t = await startTestApp({
    listen: true,
    port,
    apple: {
      serverBaseUrl: `http://127.0.0.1:${port}`,
      apnsHost: '127.0.0.1',
      apnsPort: apns.port,
      apnsCaPem: apple.certPem,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
  });
});
afterAll(async () => {
  await t.close();
  await apns.close();
});

describe('Apple MDM', () => {
  it('takes the MDM push certificate from national admins only, reads its topic and shows its expiry', async () => {
    await (
      await t.as('it.interieur')
    )
      .put('/apple/push-certificate')
      .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
      .expect(403);
    const other = createTestCa('Not a push certificate');
    const wrong = await (
      await t.as('admin.national')
    )
      .put('/apple/push-certificate')
      .send({ certificatePem: other.certPem, privateKeyPem: other.keyPem })
      .expect(400);
    expect(wrong.body.message).toContain('not an MDM push certificate');
    const res = await (
      await t.as('admin.national')
    )
      .put('/apple/push-certificate')
      .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
      .expect(200);
    expect(res.body).toMatchObject({ topic: push.topic, warning: null });
    expect(res.body.daysLeft).toBeGreaterThan(30);
  });

  it('enrolls an iPhone with a signed identity from its profile; the baseline reaches it as a Restrictions profile', async () => {
    const phone = await enrollIPhone('demo-agent-interieur');
    expect(phone.schemaViolations).toEqual([]);
    expect(phone.blockedBundleIds).toEqual(
      expect.arrayContaining(['com.zhiliaoapp.musically', 'com.netflix.Netflix', 'com.atebits.Tweetie2']),
    );
    expect(phone.commandsReceived.map((c) => c.RequestType)).toEqual(
      expect.arrayContaining(['DeviceInformation', 'InstalledApplicationList', 'InstallProfile', 'InstallApplication']),
    );
    expect(phone.installedApps.map((a) => a.bundleId)).toContain('fr.gouv.tchap'); // required: installed as managed
    const device = await deviceOf(phone);
    expect(device).toMatchObject({
      platform: 'ios',
      ministryCode: 'interieur',
      converged: true,
      compliance: 'compliant',
    });
    expect(apns.pushes.length).toBeGreaterThan(0);
    expect(apns.pushes.every((p) => p.topic === push.topic)).toBe(true);
  });

  it('takes a baseline change to every iPhone, and an exemption to exactly its holder, until it expires', async () => {
    const lea = await enrollIPhone('demo-presse-interieur');
    const admin = await t.as('admin.national');
    const national = (await admin.get('/policies/national').expect(200)).body.content;
    const plan = await admin
      .post('/policies/national/plan')
      .send({
        ...national,
        rules: [...national.rules, { app: 'dropbox', action: 'block', exemptable: false, legalBasis: 'Test' }],
      })
      .expect(201);
    await admin.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    await converge();
    for (const phone of phones) expect(phone.blockedBundleIds).toContain('com.getdropbox.Dropbox');

    const req = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: 'Compte X officiel du ministère de l’Intérieur', days: 30 })
      .expect(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
    await converge();
    expect(lea.blockedBundleIds).not.toContain('com.atebits.Tweetie2');
    for (const other of phones.filter((p) => p !== lea))
      expect(other.blockedBundleIds).toContain('com.atebits.Tweetie2');

    await t.db.query(`UPDATE exemption SET valid_until = now() - interval '1 second' WHERE id = $1`, [req.body.id]);
    await t.app.get(ExemptionSchedulerService).expireDue();
    await converge();
    expect(lea.blockedBundleIds).toContain('com.atebits.Tweetie2');
    expect((await deviceOf(lea)).converged).toBe(true);
    expect(phones.flatMap((p) => p.schemaViolations)).toEqual([]);
  });

  it('refuses an identity this server did not issue, and one it issued that has expired', async () => {
    const [first] = phones;
    const rogueCa = createTestCa('Rogue CA');
    const rogue = first.withIdentity(createIdentity(rogueCa, first.udid));
    const res = await rogue.send(`${t.url}/mdm/server`, { UDID: first.udid, Status: 'Idle' });
    expect(res.status).toBe(403);
    expect(res.body.toString()).toContain('not issued by this server');
    // Signed by our own CA's key but past its validity: refused the same way.
    const [ca] = (await t.db.query(`SELECT cert_pem, key_pem FROM apple_ca WHERE id = 1`)) as {
      cert_pem: string;
      key_pem: string;
    }[];
    const expired = first.withIdentity(
      createIdentity(
        {
          certPem: ca.cert_pem,
          keyPem: ca.key_pem,
          cert: forge.pki.certificateFromPem(ca.cert_pem),
          key: forge.pki.privateKeyFromPem(ca.key_pem) as forge.pki.rsa.PrivateKey,
        },
        first.udid,
        { validityDays: -1 },
      ),
    );
    expect((await expired.send(`${t.url}/mdm/server`, { UDID: first.udid, Status: 'Idle' })).status).toBe(403);
    // The real identity still works.
    expect((await first.send(`${t.url}/mdm/server`, { UDID: first.udid, Status: 'Idle' })).status).toBe(200);
  });

  it("refuses a device that presents another device's UDID, an unsigned request and a malformed plist", async () => {
    const [first] = phones;
    const thief = await enrollIPhone('demo-it-interieur');
    const impostor = thief.impersonate(first.udid);
    const res = await impostor.authenticate();
    expect(res.status).toBe(403);
    expect(res.body.toString()).toContain('another device');
    // The command channel too: it can neither fetch the other phone's commands nor answer them, nor make it look seen.
    const commandsOf = (udid: string) =>
      t.db.query(
        `SELECT c.uuid, c.status, c.answered_at FROM apple_command c JOIN device d ON d.id = c.device_id WHERE d.apple_udid = $1 ORDER BY c.seq`,
        [udid],
      );
    const [victim] = await t.db.query(`SELECT last_seen_at FROM device WHERE apple_udid = $1`, [first.udid]);
    const commands = await commandsOf(first.udid);
    expect(commands.length).toBeGreaterThan(0);
    const idle = await impostor.send(`${t.url}/mdm/server`, { UDID: first.udid, Status: 'Idle' });
    expect(idle.status).toBe(403);
    expect(idle.body.toString()).toContain('another device');
    const forgedAnswer = await impostor.send(`${t.url}/mdm/server`, {
      UDID: first.udid,
      Status: 'Error',
      CommandUUID: commands[commands.length - 1].uuid,
      ErrorChain: [],
    });
    expect(forgedAnswer.status).toBe(403);
    expect(await commandsOf(first.udid)).toEqual(commands);
    expect(await t.db.query(`SELECT last_seen_at FROM device WHERE apple_udid = $1`, [first.udid])).toEqual([victim]);
    const unsigned = await fetch(`${t.url}/mdm/server`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-apple-aspen-mdm' },
      body: '<plist/>',
    });
    expect(unsigned.status).toBe(401);
    const garbage = await thief.send(`${t.url}/mdm/server`, Buffer.from('<?xml version="1.0"?><plist><dict><key>UDID'));
    expect(garbage.status).toBe(400);
    const entity = await thief.send(
      `${t.url}/mdm/server`,
      Buffer.from(
        `<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaa">]><plist><dict><key>UDID</key><string>&a;</string></dict></plist>`,
      ),
    );
    expect(entity.status).toBe(400);
  });

  it('shows a banned app still installed as non-compliant, removes it when managed, and flags an unsupervised iPhone', async () => {
    const phone = await enrollIPhone('demo-approver-interieur', {
      installedApps: [
        { bundleId: 'com.netflix.Netflix', managed: true, name: 'Netflix' },
        { bundleId: 'com.midasplayer.apps.candycrushsaga', managed: false, name: 'Candy Crush' },
      ],
    });
    let device = await deviceOf(phone);
    expect(device.compliance).toBe('non-compliant');
    expect(device.complianceReason).toContain('Netflix');
    // The managed one was removed by RemoveApplication; the next inventory shows only the unmanaged game.
    expect(phone.installedApps.map((a) => a.bundleId)).not.toContain('com.netflix.Netflix');
    await t.app.get(MdmProtocolService).queueInventoryRefresh(0);
    await converge();
    device = await deviceOf(phone);
    // The same words as on Android (one evaluator): the app, not its platform identifier.
    expect(device.complianceReason).toBe('banned app still installed: Candy Crush Saga');

    const unsupervised = await enrollIPhone('demo-agent-interieur', { supervised: false });
    expect((await deviceOf(unsupervised)).complianceReason).toContain('not supervised');
    const list = await (
      await t.as('it.interieur')
    )
      .get('/ministries/interieur/devices?compliance=non-compliant')
      .expect(200);
    expect(list.body.items.length).toBeGreaterThanOrEqual(2);
  });

  it('answers a device that says NotNow later, not in a loop, and never hands out an acknowledged command again', async () => {
    let busy = true;
    const phone = await enrollIPhone('demo-agent-interieur', { notNowRate: 0.5, random: () => (busy ? 0 : 0.99) });
    // Each check-in session: one command offered, NotNow, the server answers nothing more.
    const sessions = phone.commandsReceived.length;
    expect(sessions).toBeGreaterThan(0);
    expect(phone.commandsReceived.every((c) => c.status === 'NotNow')).toBe(true);
    const [{ n: waiting }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command c JOIN device d ON d.id = c.device_id WHERE d.apple_udid = $1 AND c.status = 'not-now' AND c.not_now_until > now()`,
      [phone.udid],
    );
    expect(waiting).toBeGreaterThan(0);
    expect((await deviceOf(phone)).converged).toBe(false);

    // Later (the retry delay has passed), the phone is free again.
    busy = false;
    await t.db.query(
      `UPDATE apple_command SET not_now_until = now() WHERE device_id = (SELECT id FROM device WHERE apple_udid = $1)`,
      [phone.udid],
    );
    await phone.poll();
    expect((await deviceOf(phone)).converged).toBe(true);
    const acknowledged = phone.commandsReceived.filter((c) => c.status === 'Acknowledged').map((c) => c.CommandUUID);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    const before = phone.commandsReceived.length;
    await phone.poll();
    expect(phone.commandsReceived.length).toBe(before); // nothing handed out again
  });

  it('marks a device token dead when APNs answers 410, and the push as failed with the reason', async () => {
    const phone = await enrollIPhone('demo-it-interieur');
    apns.deadTokens.add(phone.pushTokenHex);
    phones.splice(phones.indexOf(phone), 1); // it no longer hears from us: only a push would wake it
    const admin = await t.as('admin.national');
    const national = (await admin.get('/policies/national').expect(200)).body.content;
    const plan = await admin
      .post('/policies/national/plan')
      .send({
        ...national,
        rules: [...national.rules, { app: 'nextcloud', action: 'block', exemptable: false, legalBasis: 'Test' }],
      })
      .expect(201);
    await admin.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    await converge();
    const [row] = await t.db.query(`SELECT apns_dead_at, push_state, push_error FROM device WHERE apple_udid = $1`, [
      phone.udid,
    ]);
    expect(row.apns_dead_at).not.toBeNull();
    expect(row.push_state).toBe('failed');
    expect(row.push_error).toContain('410');
    const status = (await (await t.as('it.interieur')).get('/ministries/interieur/rollout-status').expect(200)).body;
    expect(status.failures.some((f: { reason: string }) => f.reason.includes('Unregistered'))).toBe(true);
  });

  it('wakes 300 iPhones at once: each push reaches APNs exactly once, with its own token, the topic and its PushMagic', async () => {
    // Seeded as after TokenUpdate (token, PushMagic); the wakes of one tick read their tokens in one batch.
    const seeded = (await t.db.query(
      `INSERT INTO device (platform, ownership, ministry_code, display_name, apple_udid, apns_token, push_magic, last_seen_at)
       SELECT 'ios', 'company', 'interieur', 'fan-out ' || g, 'FANOUT-' || g, encode(sha256(('fan-out ' || g)::bytea), 'hex'),
              upper(md5('magic ' || g)::uuid::text), now()
         FROM generate_series(1, 300) g
       RETURNING id, apns_token, push_magic`,
    )) as { id: string; apns_token: string; push_magic: string }[];
    const [silent] = (await t.db.query(
      `INSERT INTO device (platform, ownership, ministry_code, display_name, apple_udid) VALUES ('ios', 'company', 'interieur', 'no token yet', 'FANOUT-silent') RETURNING id`,
    )) as { id: string }[];
    apns.reset();
    const wakes = ApnsServiceOf(t);
    const outcomes = await Promise.allSettled([
      ...seeded.map((d) => wakes.wake(d.id)),
      // In the same batch: a device without a token, and an id that is not one, each refused on its own.
      wakes.wake(silent.id),
      wakes.wake('not-a-device-id'),
    ]);
    expect(outcomes.slice(0, 300).every((o) => o.status === 'fulfilled')).toBe(true);
    expect(outcomes.slice(300).map((o) => (o as PromiseRejectedResult).reason.message)).toEqual([
      'the device has not sent its push token yet (no TokenUpdate)',
      'the device has not sent its push token yet (no TokenUpdate)',
    ]);
    expect(apns.pushes).toHaveLength(300);
    expect(new Set(apns.pushes.map((p) => p.token)).size).toBe(300);
    const magicOf = new Map(seeded.map((d) => [d.apns_token, d.push_magic]));
    for (const pushed of apns.pushes) {
      expect(pushed.topic).toBe(push.topic);
      expect(pushed.pushMagic).toBe(magicOf.get(pushed.token));
    }
    await t.db.query(`DELETE FROM device WHERE apple_udid LIKE 'FANOUT-%'`);
  });
});
