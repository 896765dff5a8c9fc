import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { FakeAbm, startFakeAbm } from '../../tools/fake-abm/fake-abm';
import { FakeAppsAndBooks, startFakeAppsAndBooks } from '../../tools/fake-apps-books/fake-apps-books';
import { createAppleDeviceCa, requestAdeProfile, signMachineInfo } from '../../tools/apple-sim/ade';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import { FakeApns, startFakeApns } from '../../tools/apple-sim/fake-apns';
import {
  createIdentity,
  createMdmPushCertificate,
  createServerCertificate,
  createTestCa,
} from '../../tools/apple-sim/pki';
import { AppleSettings } from '../src/apple/apple-settings';
import { AbmService } from '../src/apple/abm/abm.service';
import { WorkerService } from '../src/worker/worker.service';
import { drainRolloutJobs } from './support/drain-jobs';
import { countRows, startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

let t: TestApp;
let abm: FakeAbm;
let apns: FakeApns;
let vpp: FakeAppsAndBooks;
const TCHAP = '1446253779';
let base: string;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);
// The service trusts it instead of Apple's "Apple iPhone Device CA" (ADE_DEVICE_CA_FILE).
const deviceCa = createAppleDeviceCa();
let settings: AppleSettings;

/** A call straight to the fake, as any client of Apple's API would make it. */
async function abmCall(
  path: string,
  session: string | null,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${abm.url}${path}`, {
    method: 'POST',
    headers: {
      ...(session ? { 'X-ADM-Auth-Session': session } : {}),
      'Content-Type': 'application/json',
      'X-Server-Protocol-Version': '3',
    },
    body: JSON.stringify(body ?? {}),
  });
  return { status: response.status, text: await response.text() };
}

async function audited(action: string): Promise<number> {
  const [row] = await t.db.query(`SELECT count(*)::int AS n FROM audit_event WHERE action = $1`, [action]);
  return row.n;
}

beforeAll(async () => {
  abm = await startFakeAbm({ serverName: 'MDM Intérieur', orgName: 'Ministère de l’Intérieur' });
  vpp = await startFakeAppsAndBooks();
  vpp.addAsset(TCHAP, 10);
  apns = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const port = await freePort();
  // Over TLS, as Apple requires for the profile's url and as iPhones reach the service.
  base = `https://127.0.0.1:${port}`;
  settings = {
    serverBaseUrl: base,
    apnsHost: '127.0.0.1',
    apnsPort: apns.port,
    apnsCaPem: apple.certPem,
    identityFrom: 'signature',
    proxyCertHeader: 'X-Client-Certificate',
    abmUrl: abm.url,
    appsBooksUrl: vpp.url,
    deviceCaPem: deviceCa.certPem,
  };
  t = await startTestApp({ tls: true, port, apple: settings });
  expect(t.url).toBe(base);
});
afterAll(async () => {
  await t.close();
  await abm.stop();
  await vpp.stop();
  await apns.close();
});

describe('Automated Device Enrollment (Apple Business Manager)', () => {
  let certificatePem: string;

  it('creates the certificate IT uploads to ABM, for the ministry’s IT only', async () => {
    await (await t.as('it.armees')).post('/ministries/interieur/apple/abm/certificate').expect(403);
    await (await t.as('it.interieur')).get('/ministries/interieur/apple/abm').expect(409);
    const res = await (await t.as('it.interieur')).post('/ministries/interieur/apple/abm/certificate').expect(201);
    certificatePem = res.body.certificatePem;
    expect(certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(res.body).toMatchObject({ ministry: 'interieur', tokenImported: false, tokenExpiry: null });
    expect(await audited('apple.abm-certificate-created')).toBe(1);
  });

  it('refuses a server token encrypted to another certificate, with a sentence, and writes nothing', async () => {
    const armees = await (await t.as('it.armees')).post('/ministries/armees/apple/abm/certificate').expect(201);
    const wrong = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/abm/token')
      .send({ token: abm.issueServerToken(armees.body.certificatePem) })
      .expect(400);
    expect(wrong.body.message).toContain('encrypted to another certificate');
    const garbage = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/abm/token')
      .send({ token: 'Content-Type: application/pkcs7-mime\n\nbm90IGEgdG9rZW4=' })
      .expect(400);
    expect(garbage.body.message).toContain('not a server token');
    const view = await (await t.as('it.interieur')).get('/ministries/interieur/apple/abm').expect(200);
    expect(view.body.tokenImported).toBe(false);
    expect(await audited('apple.abm-token-imported')).toBe(0);
  });

  it('imports the token ABM gives (decrypted, its session opened with OAuth 1.0a), with its expiry', async () => {
    const res = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/abm/token')
      .send({ token: abm.issueServerToken(certificatePem) })
      .expect(200);
    expect(res.body).toMatchObject({ tokenImported: true, serverName: 'MDM Intérieur', warning: null });
    expect(res.body.daysLeft).toBeGreaterThan(300);
    expect(abm.sessionsOpened).toBe(1);
    expect(await audited('apple.abm-token-imported')).toBe(1);
  });

  it('syncs devices in pages of 1,000, defines the enrollment profile, assigns it and lists the devices before their first boot', async () => {
    const added = abm.addDevices(1205);
    const res = await (await t.as('it.interieur')).post('/ministries/interieur/apple/abm/sync').expect(200);
    expect(res.body).toMatchObject({ devicesRead: 1205, assigned: 1205, notAssigned: 0 });
    expect(abm.pages.filter((p) => p.path === '/server/devices').map((p) => [p.limit, p.devices])).toEqual([
      [1000, 1000],
      [1000, 205],
    ]);
    const profile = abm.profiles.get(res.body.profileUuid);
    expect(profile).toMatchObject({
      url: `${base}/apple/ade/interieur/enroll`,
      is_supervised: true,
      is_mandatory: true,
      is_mdm_removable: false,
      await_device_configured: true,
    });
    expect(profile?.skip_setup_items).toEqual(expect.arrayContaining(['AppleID', 'Payment', 'Siri']));
    expect(abm.assignments.size).toBe(1205);
    expect(abm.assignments.get(added[0].serial_number)).toBe(res.body.profileUuid);

    const list = await (await t.as('it.interieur')).get('/ministries/interieur/apple/abm/devices?limit=2').expect(200);
    expect(list.body.total).toBe(1205);
    expect(list.body.devices[0]).toMatchObject({
      serialNumber: added[0].serial_number,
      model: 'iPhone 15',
      profileStatus: 'assigned',
      profileAssigned: true,
      assignResult: 'SUCCESS',
      enrolled: false,
    });
    await (await t.as('it.armees')).get('/ministries/interieur/apple/abm/devices').expect(403);
    expect(await audited('apple.abm-devices-synced')).toBe(2);
    expect(await audited('apple.abm-profile-assigned')).toBe(2);
    expect(await audited('apple.abm-profile-defined')).toBe(1);
  });

  it('then syncs changes from its cursor: a new device gets the profile, a removed one leaves; an ended session is renewed', async () => {
    abm.expireSessions();
    const sessions = abm.sessionsOpened;
    const [fresh] = abm.addDevices(1, 'iPhone 16');
    const [, second] = [...abm.devices.keys()];
    abm.removeDevice(second);
    const res = await (await t.as('it.interieur')).post('/ministries/interieur/apple/abm/sync').expect(200);
    expect(res.body).toMatchObject({ assigned: 1, removed: 1, notAssigned: 0 });
    expect(abm.sessionsOpened).toBe(sessions + 1);
    expect(abm.refusals.filter((r) => r.status === 401)).toHaveLength(1); // the ended session, once
    expect(abm.pages.filter((p) => p.path === '/server/devices')).toHaveLength(2); // no second fetch
    expect(abm.assignments.get(fresh.serial_number)).toBe(res.body.profileUuid);
    const view = await (await t.as('it.interieur')).get('/ministries/interieur/apple/abm').expect(200);
    expect(view.body).toMatchObject({ devices: 1205, profileAssigned: 1205 });
  });

  it('runs one sync per ministry at a time (409 with a sentence while another holds it)', async () => {
    const other = new Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('abm-sync:interieur'))`);
      const busy = await (await t.as('it.interieur')).post('/ministries/interieur/apple/abm/sync').expect(409);
      expect(busy.body.message).toContain('already running');
      await other.query(`SELECT pg_advisory_unlock(hashtext('abm-sync:interieur'))`);
      await (await t.as('it.interieur')).post('/ministries/interieur/apple/abm/sync').expect(200);
    } finally {
      await other.end();
    }
  });

  it('the fake is as strict as ABM: session header, required profile fields, reused cursors', async () => {
    expect(await abmCall('/server/devices', 'not-a-session', { limit: 10 })).toEqual({
      status: 401,
      text: 'UNAUTHORIZED',
    });
    const session = abm.openTestSession();
    expect((await abmCall('/profile', session, { url: 'https://mdm.example.gouv.fr/enroll' })).text).toBe(
      'CONFIG_NAME_REQUIRED',
    );
    expect((await abmCall('/profile', session, { profile_name: 'x' })).text).toBe('CONFIG_URL_REQUIRED');
    expect(
      (await abmCall('/profile', session, { profile_name: 'x', url: 'http://mdm.example.gouv.fr/enroll' })).text,
    ).toBe('CONFIG_URL_INVALID');
    // No concession for loopback: an iPhone evaluates the TLS trust of the url, wherever it points.
    expect((await abmCall('/profile', session, { profile_name: 'x', url: 'http://127.0.0.1:3000/enroll' })).text).toBe(
      'CONFIG_URL_INVALID',
    );
    expect(
      (
        await abmCall('/profile', session, {
          profile_name: 'x',
          url: 'https://mdm.example.gouv.fr/enroll',
          configuration_web_url: 'http://mdm.example.gouv.fr/login',
        })
      ).text,
    ).toBe('CONFIG_URL_INVALID');
    expect(
      (
        await abmCall('/profile', session, {
          profile_name: 'x',
          url: 'https://mdm.example.gouv.fr/enroll',
          is_mdm_removable: false,
        })
      ).text,
    ).toBe('FLAGS_INVALID');
    let page = JSON.parse((await abmCall('/server/devices', session, { limit: 1000 })).text);
    while (page.more_to_follow)
      page = JSON.parse((await abmCall('/server/devices', session, { limit: 1000, cursor: page.cursor })).text);
    expect(await abmCall('/server/devices', session, { limit: 1000, cursor: page.cursor })).toEqual({
      status: 400,
      text: 'EXHAUSTED_CURSOR',
    });
    expect((await abmCall('/devices/sync', session, { cursor: 'made-up' })).text).toBe('INVALID_CURSOR');
    expect((await abmCall('/devices/sync', session, { cursor: page.cursor })).status).toBe(200);
  });

  it('warns 30 days before the server token expires', async () => {
    const res = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/abm/token')
      .send({ token: abm.issueServerToken(certificatePem, new Date(Date.now() + 10.5 * 86_400_000)) })
      .expect(200);
    expect(res.body.daysLeft).toBe(10);
    expect(res.body.warning).toContain('expires in 10 day(s)');
  });

  it('an ABM iPhone at first boot: its profile from the signed machine information, then configuration, a licensed Tchap and DeviceConfigured', async () => {
    await (
      await t.as('admin.national')
    )
      .put('/apple/push-certificate')
      .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
      .expect(200);
    await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/vpp/token')
      .send({ sToken: vpp.issueToken() })
      .expect(200);
    await (
      await t.as('it.interieur')
    )
      .put(`/ministries/interieur/apple/vpp/assets/${TCHAP}`)
      .send({ bundleId: 'fr.gouv.tchap' })
      .expect(200);
    const [serial] = [...abm.devices.keys()];
    const udid = randomUUID().toUpperCase();
    const identity = createIdentity(deviceCa, udid);
    const machine = (info: { UDID: string; SERIAL: string; PRODUCT: string; VERSION: string }) =>
      signMachineInfo(info, identity, deviceCa);
    // Setup Assistant reaches the profile's url over https, trusting the service's CA only.
    const post = (body: Buffer) => requestAdeProfile(`${base}/apple/ade/interieur/enroll`, body, { ca: t.tlsCaPem });
    await expect(requestAdeProfile(`${base}/apple/ade/interieur/enroll`, Buffer.from('x'))).rejects.toThrow(
      /self-signed|unable to (get|verify)/,
    );
    const enrollments = await countRows(t.db, 'apple_enrollment');

    const stranger = await post(
      machine({ UDID: udid, SERIAL: 'C02NOTINABM', PRODUCT: 'iPhone15,4', VERSION: '22A3354' }),
    );
    expect(stranger.status).toBe(403);
    expect((JSON.parse(stranger.body.toString()) as { message: string }).message).toContain(
      'not assigned to this ministry',
    );
    expect((await post(Buffer.from('not signed'))).status).toBe(401);
    // A valid signature over a known serial, by an identity Apple's device CA did not issue: refused, nothing written.
    const impostorCa = createTestCa('Apple iPhone Device CA');
    const forged = await post(
      signMachineInfo(
        { UDID: udid, SERIAL: serial, PRODUCT: 'iPhone15,4', VERSION: '22A3354' },
        createIdentity(impostorCa, udid),
        impostorCa,
      ),
    );
    expect(forged.status).toBe(401);
    expect((JSON.parse(forged.body.toString()) as { message: string }).message).toContain(
      "is not signed by an iPhone's device identity from Apple",
    );
    expect(await countRows(t.db, 'apple_enrollment')).toBe(enrollments);
    expect(await audited('apple.ade-profile-served')).toBe(0);

    const answer = await post(machine({ UDID: udid, SERIAL: serial, PRODUCT: 'iPhone15,4', VERSION: '22A3354' }));
    expect(answer.status).toBe(200);
    expect(answer.contentType).toContain('application/x-apple-aspen-config');
    const phone = SimulatedIPhone.fromEnrollmentProfile(answer.body, {
      tls: { ca: t.tlsCaPem },
      udid,
      serial,
      supervised: true,
      awaitingConfiguration: true,
      installedApps: [],
      storeApps: [{ iTunesStoreID: Number(TCHAP), bundleId: 'fr.gouv.tchap', name: 'Tchap' }],
    });
    phone.connectTo(apns);
    await phone.enroll();
    // The push that follows TokenUpdate may start a session of its own: wait until the phone has nothing left.
    await phone.poll();
    await phone.whenIdle();
    const received = phone.commandsReceived.map((c) => c.RequestType);
    const configured = received.indexOf('DeviceConfigured');
    expect(configured).toBeGreaterThan(received.indexOf('InstallProfile'));
    expect(configured).toBeGreaterThan(received.indexOf('InstallApplication'));
    expect(received.indexOf('InstallProfile')).toBeGreaterThanOrEqual(0);
    expect(phone.blockedBundleIds).toContain('com.zhiliaoapp.musically');
    // Tchap with its licence, associated with the serial before the command went out.
    expect(vpp.deviceAssignments.has(`${TCHAP}:${serial}`)).toBe(true);
    expect(phone.commandLog.find((c) => c.RequestType === 'InstallApplication')?.command).toMatchObject({
      iTunesStoreID: Number(TCHAP),
      Options: { PurchaseMethod: 1 },
    });
    expect(phone.installedApps.map((a) => a.bundleId)).toContain('fr.gouv.tchap');
    // The simulator answers DeviceConfigured with "unknown command": its schema set (Apple's
    // device-management YAML under /work/shared/reference) lacks that command; what is checked
    // here is what the server sends, and in which order.
    expect(phone.commandLog.find((c) => c.RequestType === 'DeviceConfigured')?.command).toEqual({
      RequestType: 'DeviceConfigured',
    });
    expect(await audited('apple.ade-profile-served')).toBe(1);
    expect(await audited('apple.ade-configured')).toBe(1);
    const list = await (await t.as('it.interieur')).get('/ministries/interieur/apple/abm/devices?limit=1').expect(200);
    expect(list.body.devices[0]).toMatchObject({ serialNumber: serial, enrolled: true });
    // The rollout engine's push for the new phone comes after: it knows the profile was sent, and sends none again.
    await drainRolloutJobs(t);
    await phone.poll();
    await phone.whenIdle();
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command c JOIN device d ON d.id = c.device_id
        WHERE d.apple_udid = $1 AND c.request_type = 'InstallProfile' AND c.status <> 'cancelled'`,
      [udid],
    );
    expect(n).toBe(1);
    expect(phone.commandsReceived.filter((c) => c.RequestType === 'InstallProfile')).toHaveLength(1);
  });
});

/** Waits (polling the database, not the clock) until `read` gives something: what a worker did in the background. */
async function until<T>(read: () => Promise<T | null | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still waiting for ${what}`);
}

describe('scheduled sync with ABM and Apps and Books (worker)', () => {
  const MINUTE = 60_000;
  const PERIOD = 60; // ABM_SYNC_PERIOD_MINUTES' default
  const abmView = async () =>
    (await (await t.as('it.interieur')).get('/ministries/interieur/apple/abm').expect(200)).body;
  const vppView = async () =>
    (await (await t.as('it.interieur')).get('/ministries/interieur/apple/vpp').expect(200)).body;

  it('the worker syncs each connected ministry on its own: new ABM devices assigned, licence counts refreshed, state shown', async () => {
    const [fresh] = abm.addDevices(1, 'iPhone 16e');
    vpp.addAsset(TCHAP, 25); // IT bought more licences in ABM
    const synced = await audited('apple.abm-devices-synced');
    // The worker as `npm start` runs it: its start-up job syncs every ministry whose turn came.
    await t.app.get(WorkerService).start();
    const view = await until(async () => {
      const v = await abmView();
      return v.syncState ? v : null;
    }, 'the scheduled ABM sync');
    expect(view).toMatchObject({ syncState: 'ok', syncError: null, syncFailures: 0 });
    expect(abm.assignments.get(fresh.serial_number)).toBe(view.profileUuid);
    expect(new Date(view.nextSyncAt).getTime() - new Date(view.lastSyncAt).getTime()).toBeGreaterThan(
      (PERIOD - 1) * MINUTE,
    );
    expect(await audited('apple.abm-devices-synced')).toBeGreaterThan(synced);
    const [{ actor }] = await t.db.query(
      `SELECT actor FROM audit_event WHERE action = 'apple.abm-devices-synced' ORDER BY seq DESC LIMIT 1`,
    );
    expect(actor).toBe('system: scheduled sync with Apple');
    const licences = await until(async () => {
      const v = await vppView();
      return v.syncState ? v : null;
    }, 'the scheduled Apps and Books refresh');
    expect(licences).toMatchObject({ syncState: 'ok', syncError: null });
    expect(licences.assets.find((a: { adamId: string }) => a.adamId === TCHAP)).toMatchObject({ totalCount: 25 });
    // Only ministries with a token: armées made a certificate but never imported one.
    const [armees] = await t.db.query(`SELECT sync_state FROM abm_server WHERE ministry_code = 'armees'`);
    expect(armees.sync_state).toBeNull();
  });

  it('an outage at Apple: kept, audited, tried again twice as late each time, not every minute; then it recovers', async () => {
    const service = t.app.get(AbmService);
    const due = new Date((await abmView()).nextSyncAt).getTime();
    const at = (minutes: number) => new Date(due + minutes * MINUTE);
    abm.unavailable = true;
    vpp.unavailable = true;
    try {
      expect(await service.scheduledSync(at(0))).toEqual({
        abm: { interieur: 'failed' },
        vpp: { interieur: 'failed' },
      });
      const failed = await abmView();
      expect(failed).toMatchObject({ syncState: 'failed', syncFailures: 1 });
      expect(failed.syncError).toContain('Apple Business Manager is unavailable (503)');
      expect(new Date(failed.nextSyncAt)).toEqual(at(2 * PERIOD));
      expect((await vppView()).syncState).toBe('failed');
      expect(await audited('apple.abm-sync-failed')).toBe(1);
      expect(await audited('apple.vpp-sync-failed')).toBe(1);
      // Not asked again before its turn (the worker ticks every minute).
      const refusals = abm.refusals.length;
      expect(await service.scheduledSync(at(PERIOD))).toEqual({ abm: {}, vpp: {} });
      expect(abm.refusals.length).toBe(refusals);
      expect((await service.scheduledSync(at(2 * PERIOD))).abm).toEqual({ interieur: 'failed' });
      expect(await abmView()).toMatchObject({ syncFailures: 2, nextSyncAt: at(6 * PERIOD).toISOString() });
      expect(await audited('apple.abm-sync-failed')).toBe(2);
    } finally {
      abm.unavailable = false;
      vpp.unavailable = false;
    }
    // A renewed server token is tried at the worker's next turn, not after the backoff.
    await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/apple/abm/token')
      .send({ token: abm.issueServerToken((await abmView()).certificatePem) })
      .expect(200);
    expect((await abmView()).nextSyncAt).toBeNull();
    expect(await service.scheduledSync(at(2 * PERIOD + 1))).toEqual({ abm: { interieur: 'ok' }, vpp: {} });
    expect(await abmView()).toMatchObject({
      syncState: 'ok',
      syncError: null,
      syncFailures: 0,
      nextSyncAt: at(3 * PERIOD + 1).toISOString(),
    });
    // Apps and Books, left alone, recovers at its own turn.
    expect((await vppView()).syncState).toBe('failed');
    expect(await service.scheduledSync(at(6 * PERIOD))).toEqual({ abm: { interieur: 'ok' }, vpp: { interieur: 'ok' } });
    expect(await vppView()).toMatchObject({ syncState: 'ok', syncError: null });
  });
});

describe('https in production', () => {
  it('refuses to define an ADE profile whose url is http, with a sentence, before anything reaches ABM', async () => {
    const prod = await startTestApp({
      apple: { ...settings, serverBaseUrl: 'http://mdm.interieur.gouv.fr', production: true },
    });
    try {
      const it = await prod.as('it.interieur');
      const certificate = await it.post('/ministries/interieur/apple/abm/certificate').expect(201);
      await it
        .put('/ministries/interieur/apple/abm/token')
        .send({ token: abm.issueServerToken(certificate.body.certificatePem) })
        .expect(200);
      const pages = abm.pages.length;
      const profiles = abm.profiles.size;
      const refused = await it.post('/ministries/interieur/apple/abm/sync').expect(409);
      expect(refused.body.message).toContain(
        "The enrollment profile's url would be http://mdm.interieur.gouv.fr/apple/ade/interieur/enroll: in production iPhones must reach the MDM server over https",
      );
      expect([abm.pages.length, abm.profiles.size]).toEqual([pages, profiles]);
      const [{ n }] = await prod.db.query(
        `SELECT count(*)::int AS n FROM audit_event WHERE action LIKE 'apple.abm-devices%' OR action LIKE 'apple.abm-profile%'`,
      );
      expect(n).toBe(0);
    } finally {
      await prod.close();
    }
  });
});
