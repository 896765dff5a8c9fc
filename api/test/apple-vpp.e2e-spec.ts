import { FakeAppsAndBooks, startFakeAppsAndBooks } from '../../tools/fake-apps-books/fake-apps-books';
import { downloadProfile } from '../../tools/apple-sim/ade';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import { FakeApns, startFakeApns } from '../../tools/apple-sim/fake-apns';
import { createMdmPushCertificate, createServerCertificate, createTestCa } from '../../tools/apple-sim/pki';
import { drainRolloutJobs } from './support/drain-jobs';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

let t: TestApp;
let vpp: FakeAppsAndBooks;
let apns: FakeApns;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);
const phones: SimulatedIPhone[] = [];
const TCHAP = '1446253779';

async function converge(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await drainRolloutJobs(t);
    await new Promise((r) => setTimeout(r, 150));
    for (const phone of phones) await phone.poll();
  }
}

async function enroll(agentSub: string): Promise<SimulatedIPhone> {
  const agent = (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [agentSub]))[0].id;
  const link = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ agentId: agent, expiresInHours: 24 })
    .expect(201);
  // Over https, as a real iPhone reaches the service: the phone trusts the test server's CA.
  const profile = await downloadProfile(link.body.url, { ca: t.tlsCaPem });
  expect(profile.status).toBe(200);
  const phone = SimulatedIPhone.fromEnrollmentProfile(profile.body, {
    tls: { ca: t.tlsCaPem },
    supervised: true,
    installedApps: [],
    storeApps: [{ iTunesStoreID: Number(TCHAP), bundleId: 'fr.gouv.tchap', name: 'Tchap' }],
  });
  phone.connectTo(apns);
  await phone.enroll();
  phones.push(phone);
  await converge();
  return phone;
}

async function deviceRow(
  phone: SimulatedIPhone,
): Promise<{ id: string; push_state: string; push_error: string | null }> {
  return (await t.db.query(`SELECT id, push_state, push_error FROM device WHERE apple_udid = $1`, [phone.udid]))[0];
}

beforeAll(async () => {
  vpp = await startFakeAppsAndBooks();
  vpp.addAsset(TCHAP, 1);
  vpp.addAsset('284882215', 500); // an app the ministry owns but does not require
  apns = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const port = await freePort();
  t = await startTestApp({
    tls: true,
    port,
    apple: {
      serverBaseUrl: `https://127.0.0.1:${port}`,
      apnsHost: '127.0.0.1',
      apnsPort: apns.port,
      apnsCaPem: apple.certPem,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
      appsBooksUrl: vpp.url,
    },
  });
  await (
    await t.as('admin.national')
  )
    .put('/apple/push-certificate')
    .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
    .expect(200);
});
afterAll(async () => {
  await t.close();
  await vpp.stop();
  await apns.close();
});

describe('Apps and Books (licences of store apps)', () => {
  it('imports the content token of the ministry’s IT only; a token Apple does not know is refused with a sentence', async () => {
    const sToken = vpp.issueToken('Intérieur — licences');
    await (await t.as('it.armees')).put('/ministries/interieur/apple/vpp/token').send({ sToken }).expect(403);
    const garbage = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/vpp/token')
      .send({ sToken: 'not a token' })
      .expect(400);
    expect(garbage.body.message).toContain('not an Apps and Books content token');
    const unknown = Buffer.from(
      JSON.stringify({ token: 'x', expDate: '2099-01-01T00:00:00+0000', orgName: 'Autre' }),
    ).toString('base64');
    const refused = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/vpp/token')
      .send({ sToken: unknown })
      .expect(400);
    expect(refused.body.message).toContain('Apple refused this content token');
    const res = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/vpp/token')
      .send({ sToken })
      .expect(200);
    expect(res.body).toMatchObject({ locationName: 'Intérieur — licences', warning: null, licencesAssigned: 0 });
    expect(res.body.assets).toEqual([
      expect.objectContaining({ adamId: TCHAP, totalCount: 1, availableCount: 1, bundleId: null }),
      expect.objectContaining({ adamId: '284882215', totalCount: 500 }),
    ]);
    const mapped = await (
      await t.as('it.interieur')
    )
      .put(`/ministries/interieur/apple/vpp/assets/${TCHAP}`)
      .send({ bundleId: 'fr.gouv.tchap' })
      .expect(200);
    expect(mapped.body.assets[0].bundleId).toBe('fr.gouv.tchap');
    await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/vpp/assets/999')
      .send({ bundleId: 'com.example.none' })
      .expect(404);
  });

  it('associates a licence with the phone’s serial number before the install, which names the app by iTunesStoreID, device-assigned', async () => {
    const phone = await enroll('demo-agent-interieur');
    expect(vpp.deviceAssignments.has(`${TCHAP}:${phone.serial}`)).toBe(true);
    const install = phone.commandLog.find((c) => c.RequestType === 'InstallApplication');
    expect(install?.command).toMatchObject({ iTunesStoreID: Number(TCHAP), Options: { PurchaseMethod: 1 } });
    expect(install?.command.Identifier).toBeUndefined();
    expect(phone.installedApps.map((a) => a.bundleId)).toContain('fr.gouv.tchap');
    const view = await (await t.as('it.interieur')).get('/ministries/interieur/apple/vpp').expect(200);
    expect(view.body.licencesAssigned).toBe(1);
    expect(view.body.assets[0]).toMatchObject({ assignedCount: 1, availableCount: 0 });
    expect(view.body.warning).toContain('No licence left for fr.gouv.tchap');
  });

  it('out of licences: the next phone’s push fails once with a clear error, no loop, no install without licence', async () => {
    const phone = await enroll('demo-presse-interieur');
    const row = await deviceRow(phone);
    expect(row.push_error).toContain('no fr.gouv.tchap licence left');
    expect(row.push_state).not.toBe('retrying');
    expect(phone.commandsReceived.map((c) => c.RequestType)).not.toContain('InstallApplication');
    const associateCalls = vpp.calls.filter((c) => c.path.endsWith('/associate')).length;
    await converge();
    expect(vpp.calls.filter((c) => c.path.endsWith('/associate')).length).toBe(associateCalls);
  });

  it('releases the licence when its phone leaves', async () => {
    const [first] = phones;
    await first.checkOut();
    expect(vpp.deviceAssignments.has(`${TCHAP}:${first.serial}`)).toBe(false);
    expect(vpp.calls.at(-1)).toMatchObject({ path: '/mdm/v2/assets/disassociate', serialNumbers: [first.serial] });
    const view = await (await t.as('it.interieur')).post('/ministries/interieur/apple/vpp/sync').expect(200);
    expect(view.body).toMatchObject({ licencesAssigned: 0 });
    expect(view.body.assets[0]).toMatchObject({ assignedCount: 0, availableCount: 1 });
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM audit_event WHERE action IN ('apple.vpp-licence-assigned', 'apple.vpp-licence-released')`,
    );
    expect(n).toBe(2);
  });

  it('warns 30 days before the content token expires; an unknown ministry is a 404, not a 500', async () => {
    const res = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/vpp/token')
      .send({ sToken: vpp.issueToken('Intérieur — licences', new Date(Date.now() + 20.5 * 86_400_000)) })
      .expect(200);
    expect(res.body.daysLeft).toBe(20);
    expect(res.body.warning).toContain('content token expires in 20 day(s)');
    await (await t.as('admin.national')).get('/ministries/nowhere/apple/vpp').expect(404);
  });
});
