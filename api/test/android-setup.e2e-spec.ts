/**
 * Android Enterprise set-up against the strict fake (tools/fake-amapi): binding an enterprise made
 * in Google's console sets its Pub/Sub topic and notification types (enterprises.patch); a phone
 * enrolled while the enterprise had no topic is adopted by reconciliation, a phone no token of ours
 * enrolled is listed for IT; the web app Visio carries its icon; a ministry's health page says
 * what is missing, with Google's own words when Google refused a policy.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { AndroidSettings } from '../src/android/android-settings';
import { AndroidAdapter } from '../src/android/android.adapter';
import { drainRolloutJobs } from './support/drain-jobs';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './support/fake-amapi-settings';
import { startTestApp, TestApp } from './support/test-app';

let fake: FakeAmapi;
let t: TestApp;
let settings: AndroidSettings;
const TOPIC = 'projects/mdm-etat/topics/amapi';
/** Made in Google's console: no topic, no notification. */
const CONSOLE_ENTERPRISE = 'enterprises/LC0console';

interface Health {
  ok: boolean;
  pubsubTopic: string | null;
  enabledNotificationTypes: string[];
  unpublishedPolicies: { policy: string; error: string | null }[];
  lastReportAt: string | null;
  unknownDevices: number;
  problems: { code: string; message: string }[];
}

async function health(ministry: string): Promise<Health> {
  return (await (await t.as(`it.${ministry}`)).get(`/ministries/${ministry}/android/health`).expect(200))
    .body as Health;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await drainRolloutJobs(t);
    await fake.idle();
  }
}

async function token(ministry: string): Promise<string> {
  const res = await (
    await t.as(`it.${ministry}`)
  )
    .post(`/ministries/${ministry}/android/enrollment-tokens`)
    .send({ durationMinutes: 60, personalUsage: 'allowed' })
    .expect(201);
  return res.body.value as string;
}

async function deviceRow(name: string | null | undefined) {
  const [row] = (await t.db.query(`SELECT id, ministry_code, group_id FROM device WHERE android_device_name = $1`, [
    name,
  ])) as { id: string; ministry_code: string; group_id: string }[];
  return row;
}

beforeAll(async () => {
  fake = await startFakeAmapi({
    enterprises: [{ name: CONSOLE_ENTERPRISE, pubsubTopic: undefined, enabledNotificationTypes: undefined }],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  settings = fakeAmapiSettings(fake);
  t = await startTestApp({ listen: true, android: settings });
  fake.pubsub.pushEndpoint = `${t.url}/android/pubsub`;
  fake.pubsub.audience = PUBSUB_AUDIENCE;
  await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE platform = 'android'`);
});
afterAll(async () => {
  await t.close();
  await fake.stop();
});

describe('Android Enterprise set-up', () => {
  it('says what is missing before anything is bound; another ministry’s IT is refused', async () => {
    await (await t.as('it.culture')).get('/ministries/interieur/android/health').expect(403);
    await (await t.as('it.culture')).get('/ministries/interieur/android/unknown-devices').expect(403);
    await (
      await t.as('it.culture')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: CONSOLE_ENTERPRISE })
      .expect(403);
    const before = await health('interieur');
    expect(before.ok).toBe(false);
    expect(before.problems).toEqual([
      { code: 'no-enterprise', message: expect.stringContaining('bound to no Android Enterprise') },
    ]);
    // Nothing was asked of Google for a refused request.
    expect(fake.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/v1/enterprises/'))).toHaveLength(0);
  });

  it('binding without a configured topic leaves the enterprise silent, and the health page says so', async () => {
    settings.pubsub.topic = undefined;
    try {
      const bound = await (
        await t.as('it.interieur')
      )
        .put('/ministries/interieur/android/enterprise')
        .send({ enterpriseName: CONSOLE_ENTERPRISE })
        .expect(200);
      expect(bound.body).toMatchObject({
        enterpriseName: CONSOLE_ENTERPRISE,
        pubsubTopic: null,
        notificationTypes: [],
      });
      const h = await health('interieur');
      expect(h.problems.map((p) => p.code)).toEqual(['no-topic-configured', 'no-topic', 'notification-types-missing']);
      expect(h.problems[0].message).toContain('PUBSUB_TOPIC is not configured');
      expect(h.problems[2].message).toContain('ENROLLMENT and STATUS_REPORT');
    } finally {
      settings.pubsub.topic = TOPIC;
    }
    // A phone enrolls meanwhile with one of our tokens: Google tells nobody.
    const early = await fake.enroll({ enrollmentTokenValue: await token('interieur'), deviceId: 'early' });
    await settle();
    expect(fake.pushes).toHaveLength(0);
    expect(await deviceRow(early.name)).toBeUndefined();
    expect((await health('interieur')).lastReportAt).toBeNull();
  });

  it('binding with the topic configured sets it with ENROLLMENT and STATUS_REPORT (enterprises.patch), audited', async () => {
    fake.resetLog();
    const bound = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: CONSOLE_ENTERPRISE })
      .expect(200);
    expect(bound.body).toMatchObject({ pubsubTopic: TOPIC, notificationTypes: ['ENROLLMENT', 'STATUS_REPORT'] });
    // Google's side, as the fake holds it.
    expect(fake.state.enterprises.get(CONSOLE_ENTERPRISE)).toMatchObject({
      pubsubTopic: TOPIC,
      enabledNotificationTypes: ['ENROLLMENT', 'STATUS_REPORT'],
    });
    const patches = fake.requests.filter((r) => r.method === 'PATCH' && r.path === `/v1/${CONSOLE_ENTERPRISE}`);
    expect(patches).toEqual([
      expect.objectContaining({ status: 200, query: { updateMask: 'pubsubTopic,enabledNotificationTypes' } }),
    ]);
    const [audit] = (await t.db.query(
      `SELECT before, after FROM audit_event WHERE action = 'android.enterprise-notifications-set' AND ministry_code = 'interieur'`,
    )) as { before: { topic: string | null }; after: { topic: string; types: string[] } }[];
    expect(audit).toEqual({
      before: { enterprise: CONSOLE_ENTERPRISE, topic: null, types: [] },
      after: { enterprise: CONSOLE_ENTERPRISE, topic: TOPIC, types: ['ENROLLMENT', 'STATUS_REPORT'] },
    });
    // Another ministry cannot take it (409), and nothing is changed on Google's side for that refusal
    // (even when the enterprise would need its notifications set again).
    const onGoogle = fake.state.enterprises.get(CONSOLE_ENTERPRISE);
    if (!onGoogle) throw new Error('no enterprise');
    onGoogle.enabledNotificationTypes = ['ENROLLMENT'];
    fake.resetLog();
    const taken = await (
      await t.as('it.culture')
    )
      .put('/ministries/culture/android/enterprise')
      .send({ enterpriseName: CONSOLE_ENTERPRISE })
      .expect(409);
    expect(taken.body.message).toContain('already bound to ministry "interieur"');
    expect(fake.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
    expect(onGoogle.enabledNotificationTypes).toEqual(['ENROLLMENT']);
    // Bound again by its ministry: the missing type is set again, then there is nothing more to change.
    await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: CONSOLE_ENTERPRISE })
      .expect(200);
    expect(fake.state.enterprises.get(CONSOLE_ENTERPRISE)?.enabledNotificationTypes).toEqual([
      'ENROLLMENT',
      'STATUS_REPORT',
    ]);
    fake.resetLog();
    await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: CONSOLE_ENTERPRISE })
      .expect(200);
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  it('phones enrolled now are reported and compliant; Visio is a web app with its icon; no policy left unpublished', async () => {
    const phone = await fake.enroll({ enrollmentTokenValue: await token('interieur'), deviceId: 'now' });
    await settle();
    const row = await deviceRow(phone.name);
    expect(row).toMatchObject({ ministry_code: 'interieur', group_id: 'interieur' });
    const view = (await (await t.as('it.interieur')).get(`/devices/${row.id}`).expect(200)).body;
    expect(view).toMatchObject({ compliance: 'compliant', converged: true });

    const webApps = [...fake.state.webApps.values()].filter((w) => w.name?.startsWith(CONSOLE_ENTERPRISE));
    expect(webApps).toEqual([expect.objectContaining({ title: 'Visio', startUrl: 'https://visio.numerique.gouv.fr' })]);
    const icon = Buffer.from(webApps[0].icons?.[0]?.imageData ?? '', 'base64url');
    expect(icon.equals(readFileSync(resolve(__dirname, '../assets/visio-icon.png')))).toBe(true);
    const policy = fake.state.policies.get(`${CONSOLE_ENTERPRISE}/policies/interieur`);
    expect(policy?.applications).toContainEqual({
      packageName: webApps[0].name?.split('/').pop(),
      installType: 'FORCE_INSTALLED',
    });
    const h = await health('interieur');
    expect(h.unpublishedPolicies).toEqual([]);
    expect(h.lastReportAt).not.toBeNull();
  });

  it('reconciliation adopts the phone enrolled while the topic was missing, and lists a phone no token of ours enrolled', async () => {
    // A phone enrolled with a token made in Google's console, not by this service.
    const { data: foreignToken } = await fetch(`${fake.url}v1/${CONSOLE_ENTERPRISE}/enrollmentTokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policyName: 'interieur' }),
    }).then(async (r) => ({ data: (await r.json()) as { value: string } }));
    const stranger = await fake.enroll({ enrollmentTokenValue: foreignToken.value, deviceId: 'stranger' });
    await settle();
    expect(await deviceRow(stranger.name)).toBeUndefined();

    await (await t.as('it.culture')).post('/ministries/interieur/android/reconcile').expect(403);
    const summary = (await (await t.as('it.interieur')).post('/ministries/interieur/android/reconcile').expect(200))
      .body;
    expect(summary).toMatchObject({ adopted: 1, unknown: 1 });
    const early = await deviceRow(`${CONSOLE_ENTERPRISE}/devices/early`);
    expect(early).toMatchObject({ ministry_code: 'interieur' });
    await settle();
    const view = (await (await t.as('it.interieur')).get(`/devices/${early.id}`).expect(200)).body;
    expect(view.compliance).toBe('compliant');
    const [adopted] = await t.db.query(
      `SELECT actor FROM audit_event WHERE action = 'device.adopted' AND entity_id = $1`,
      [early.id],
    );
    expect(adopted.actor).toContain('reconciliation');

    const unknown = (
      await (await t.as('it.interieur')).get('/ministries/interieur/android/unknown-devices').expect(200)
    ).body;
    expect(unknown).toEqual([
      expect.objectContaining({ name: stranger.name, model: 'Pixel 8', ownership: 'COMPANY_OWNED' }),
    ]);
    const h = await health('interieur');
    expect(h.unknownDevices).toBe(1);
    expect(h.problems).toEqual([{ code: 'unknown-devices', message: expect.stringContaining('1 phone(s)') }]);

    // A second run adopts nothing more; once Google no longer lists the stranger, IT's list empties.
    expect(
      (await (await t.as('it.interieur')).post('/ministries/interieur/android/reconcile').expect(200)).body,
    ).toMatchObject({ adopted: 0, unknown: 1 });
    fake.deleteDeviceOnGoogleSide(stranger.name ?? '');
    await (await t.as('it.interieur')).post('/ministries/interieur/android/reconcile').expect(200);
    expect((await health('interieur')).ok).toBe(true);
  });

  it('signup: Google’s form is prefilled with the administrator’s address and limited to the ministry’s domains', async () => {
    fake.resetLog();
    await (
      await t.as('it.culture')
    )
      .post('/ministries/culture/android/signup')
      .send({ callbackUrl: 'https://mdm.example.gouv.fr/android/signup-callback' })
      .expect(201);
    const [call] = fake.requests.filter((r) => r.path === '/v1/signupUrls');
    const [ministry] = (await t.db.query(`SELECT email_domains FROM ministry WHERE code = 'culture'`)) as {
      email_domains: string[];
    }[];
    const domains = ministry.email_domains;
    expect(domains.length).toBeGreaterThan(0);
    expect(call).toMatchObject({ status: 200, query: { adminEmail: expect.stringMatching(/@/) } });
    expect([call.query.allowedDomains].flat()).toEqual(domains);
    expect(domains).toContain(String(call.query.adminEmail).split('@')[1]);
  });

  it('says when the topic is taken off the enterprise on Google’s side', async () => {
    const enterprise = fake.state.enterprises.get(CONSOLE_ENTERPRISE);
    if (!enterprise) throw new Error('no enterprise');
    const saved = { ...enterprise };
    delete enterprise.pubsubTopic;
    enterprise.enabledNotificationTypes = [];
    try {
      const h = await health('interieur');
      expect(h).toMatchObject({ ok: false, pubsubTopic: null, enabledNotificationTypes: [] });
      expect(h.problems.map((p) => p.code)).toEqual(['no-topic', 'notification-types-missing']);
      expect(h.problems[0].message).toContain(`${CONSOLE_ENTERPRISE} has no Pub/Sub topic`);
    } finally {
      Object.assign(enterprise, saved);
    }
  });

  /** A baseline change of the ministry: one more app blocked, applied and settled. */
  async function blockOneMore(app: string): Promise<void> {
    const current = await (await t.as('it.interieur')).get('/policies/interieur').expect(200);
    const plan = await (
      await t.as('it.interieur')
    )
      .post('/policies/interieur/plan')
      .send({
        ...current.body.content,
        rules: [...current.body.content.rules, { app, action: 'block', exemptable: false }],
      })
      .expect(201);
    await (await t.as('it.interieur')).post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    await settle();
  }

  it('a web app deleted on Google’s side is created again (with its icon) and the policy published', async () => {
    // The strict fake refuses a policy naming a web app it does not have: the first patch is refused.
    const before = [...fake.state.webApps.keys()];
    for (const name of before) fake.state.webApps.delete(name);
    await blockOneMore('wireguard');
    const again = [...fake.state.webApps.values()].filter((w) => w.name?.startsWith(CONSOLE_ENTERPRISE));
    expect(again).toEqual([expect.objectContaining({ title: 'Visio', icons: [{ imageData: expect.any(String) }] })]);
    expect(before).not.toContain(again[0].name);
    const policy = fake.state.policies.get(`${CONSOLE_ENTERPRISE}/policies/interieur`);
    expect(policy?.applications).toContainEqual({ packageName: 'com.wireguard.android', installType: 'BLOCKED' });
    expect(policy?.applications).toContainEqual({
      packageName: again[0].name?.split('/').pop(),
      installType: 'FORCE_INSTALLED',
    });
    expect((await health('interieur')).unpublishedPolicies).toEqual([]);
  });

  it('a policy Google refuses is shown on the health page with Google’s own words', async () => {
    // The enterprise was deleted in Google's console: every call about it is refused.
    const saved = fake.state.enterprises.get(CONSOLE_ENTERPRISE);
    fake.state.enterprises.delete(CONSOLE_ENTERPRISE);
    try {
      await blockOneMore('cisco-secure-client');
      const h = await health('interieur');
      expect(h.unpublishedPolicies).toEqual([
        {
          policy: 'interieur',
          error: expect.stringContaining('policies.patch refused (404): Requested entity was not found.'),
        },
      ]);
      expect(h.problems.map((p) => p.code)).toEqual(['google-unreachable', 'unpublished-policies']);
      expect(h.problems[1].message).toContain('Requested entity was not found.');
      // The same words for whoever needs the policy on Google's side (an enrollment token names it).
      expect(await t.app.get(AndroidAdapter).refusalOf('interieur', 'interieur')).toBe(h.unpublishedPolicies[0].error);
      const token = await (
        await t.as('it.interieur')
      )
        .post('/ministries/interieur/android/enrollment-tokens')
        .send({ durationMinutes: 60 })
        .expect(400);
      expect(token.body).toMatchObject({ code: 'android.google-refused' });
      expect(token.body.message).toContain('Google refused its policy');
      expect(token.body.message).toContain('Requested entity was not found.');
    } finally {
      if (saved) fake.state.enterprises.set(CONSOLE_ENTERPRISE, saved);
    }
  });
});
