import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { ExemptionSchedulerService } from '../src/exemptions/exemption-scheduler.service';
import { drainRolloutJobs } from './support/drain-jobs';
import { startTestApp, TestApp } from './support/test-app';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './support/fake-amapi-settings';

let fake: FakeAmapi;
let t: TestApp;
const ENTERPRISE = 'enterprises/LC0interieur';

async function agentId(sub: string): Promise<string> {
  return (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
}

function calls(method: string, pathPart: string) {
  return fake.requests.filter((r) => r.method === method && r.path.includes(pathPart));
}

/** Runs queued rollout jobs, lets the fake phones apply and report, until both sides are idle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await drainRolloutJobs(t);
    await fake.idle();
  }
}

async function enroll(
  ministry: string,
  opts: {
    agentSub?: string;
    ownership?: 'COMPANY_OWNED' | 'PERSONALLY_OWNED';
    installed?: string[];
    unremovable?: string[];
  } = {},
) {
  const it = await t.as(`it.${ministry}`);
  const token = await it
    .post(`/ministries/${ministry}/android/enrollment-tokens`)
    .send({
      agentId: opts.agentSub ? await agentId(opts.agentSub) : undefined,
      durationMinutes: 60,
      personalUsage: 'allowed',
    })
    .expect(201);
  expect(token.body.qrCode).toContain(token.body.value);
  const device = await fake.enroll({
    enrollmentTokenValue: token.body.value,
    ownership: opts.ownership ?? 'COMPANY_OWNED',
    installedApps: opts.installed ?? [],
    unremovableApps: opts.unremovable ?? [],
  });
  await fake.idle();
  const [row] = await t.db.query(
    `SELECT id, agent_id, ministry_code, ownership, group_id FROM device WHERE android_device_name = $1`,
    [device.name],
  );
  return { amapi: device, row };
}

beforeAll(async () => {
  fake = await startFakeAmapi({
    enterprises: [ENTERPRISE],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  t = await startTestApp({
    listen: true,
    android: fakeAmapiSettings(fake),
  });
  fake.pubsub.pushEndpoint = `${t.url}/android/pubsub`;
  fake.pubsub.audience = PUBSUB_AUDIENCE;
  // The demo phones of the template are not Android Enterprise devices: take them out of the way.
  await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE platform = 'android'`);
});
afterAll(async () => {
  await t.close();
  await fake.stop();
});

describe('Android Enterprise', () => {
  it('binds one ministry to an existing enterprise and another through the signup flow', async () => {
    await (
      await t.as('it.culture')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: ENTERPRISE })
      .expect(403);
    await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: 'enterprises/LCunknown' })
      .expect(400);
    const bound = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: ENTERPRISE })
      .expect(200);
    expect(bound.body).toMatchObject({ ministryCode: 'interieur', enterpriseName: ENTERPRISE });

    const signup = await (
      await t.as('it.culture')
    )
      .post('/ministries/culture/android/signup')
      .send({ callbackUrl: 'https://mdm.example.gouv.fr/android/signup-callback' })
      .expect(201);
    const [started] = (await t.db.query(
      `SELECT actor, after FROM audit_event WHERE action = 'android.signup-started' AND ministry_code = 'culture'`,
    )) as { actor: string; after: { signup: string } }[];
    expect(started).toMatchObject({
      actor: expect.stringContaining('culture.gouv.fr'),
      after: { signup: signup.body.name },
    });
    // The administrator follows Google's URL; Google sends the browser back with an enterprise token.
    const google = await fetch(signup.body.url, { redirect: 'manual' });
    const back = new URL(google.headers.get('location') as string);
    expect(back.searchParams.get('ministry')).toBe('culture');
    const done = await (
      await t.as('it.culture')
    )
      .get(`/android/signup-callback?${back.searchParams.toString()}`)
      .expect(200);
    expect(done.body.enterpriseName).toMatch(/^enterprises\//);
    const created = fake.state.enterprises.get(done.body.enterpriseName);
    expect(created).toMatchObject({
      enterpriseDisplayName: 'Ministère de la Culture',
      pubsubTopic: 'projects/mdm-etat/topics/amapi',
    });
    await (await t.as('it.culture')).get(`/android/signup-callback?${back.searchParams.toString()}`).expect(404);
  });

  it('enrolls phones with tokens: attached to their ministry and agent, on the ministry policy', async () => {
    const phone = await enroll('interieur', { agentSub: 'demo-agent-interieur' });
    expect(phone.row).toMatchObject({
      ministry_code: 'interieur',
      agent_id: await agentId('demo-agent-interieur'),
      ownership: 'company',
      group_id: 'interieur',
    });
    expect(phone.amapi.policyName).toBe(`${ENTERPRISE}/policies/interieur`);
    const personal = await enroll('interieur', { agentSub: 'demo-presse-interieur', ownership: 'PERSONALLY_OWNED' });
    expect(personal.row.ownership).toBe('personal');
    const shared = await enroll('culture');
    expect(shared.row).toMatchObject({ ministry_code: 'culture', agent_id: null });
    await settle();
    // The ministry policy they enrolled into was published once, and every payload was accepted by the discovery-checked fake.
    expect(calls('PATCH', '/policies/').every((r) => r.status === 200)).toBe(true);
    const policy = fake.state.policies.get(`${ENTERPRISE}/policies/interieur`);
    expect(policy).toMatchObject({ playStoreMode: 'BLACKLIST' });
    expect(policy?.applications).toContainEqual({ packageName: 'com.zhiliaoapp.musically', installType: 'BLOCKED' });
    expect(policy?.applications).toContainEqual({ packageName: 'fr.gouv.tchap.a', installType: 'FORCE_INSTALLED' });
    // Visio has no store app: one AMAPI web app per enterprise, force-installed.
    const visio = [...fake.state.webApps.values()].filter((w) => w.name?.startsWith(ENTERPRISE));
    expect(visio).toEqual([
      expect.objectContaining({
        startUrl: 'https://visio.numerique.gouv.fr',
        title: 'Visio',
        icons: [{ imageData: expect.any(String) }],
      }),
    ]);
    expect(policy?.applications).toContainEqual({
      packageName: visio[0].name?.split('/').pop(),
      installType: 'FORCE_INSTALLED',
    });
    expect(policy?.personalUsagePolicies?.personalApplications).toContainEqual({
      packageName: 'com.zhiliaoapp.musically',
      installType: 'BLOCKED',
    });
    const device = (await (await t.as('it.interieur')).get(`/devices/${phone.row.id}`).expect(200)).body;
    expect(device.converged).toBe(true);
    await (
      await t.as('it.interieur')
    )
      .post('/ministries/spm/android/enrollment-tokens')
      .send({ durationMinutes: 60 })
      .expect(403);
  });

  it('refuses an enrollment token for a ministry bound to no enterprise, with the reason', async () => {
    const res = await (
      await t.as('it.economie')
    )
      .post('/ministries/economie/android/enrollment-tokens')
      .send({ durationMinutes: 60 })
      .expect(409);
    expect(res.body.message).toContain('bound to no Android Enterprise');
  });

  it('costs one policies.patch per group and no devices.patch for a baseline change; phones converge', async () => {
    fake.resetLog();
    const applied = await (await t.as('admin.national')).get('/policies/national').expect(200);
    const plan = await (
      await t.as('admin.national')
    )
      .post('/policies/national/plan')
      .send({
        ...applied.body.content,
        rules: [
          ...applied.body.content.rules,
          { app: 'wetransfer', action: 'block', exemptable: false, legalBasis: 'Test' },
        ],
      })
      .expect(201);
    const rolloutId = (
      await (await t.as('admin.national')).post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200)
    ).body.applied[0].rolloutId;
    await settle();
    const groups = (
      await t.db.query(
        `SELECT g.id FROM rollout_group rg JOIN policy_group g ON g.id = rg.group_id JOIN android_enterprise e ON e.ministry_code = g.ministry_code WHERE rg.rollout_id = $1`,
        [rolloutId],
      )
    ).length;
    expect(calls('PATCH', '/policies/')).toHaveLength(groups);
    expect(calls('PATCH', '/devices/')).toHaveLength(0);
    const interieur = fake.state.policies.get(`${ENTERPRISE}/policies/interieur`);
    expect(interieur?.applications).toContainEqual({ packageName: 'com.wetransfer.app.live', installType: 'BLOCKED' });
    const status = (await (await t.as('it.interieur')).get('/ministries/interieur/rollout-status').expect(200)).body;
    const byPlatform = status.byPlatform.find((p: { platform: string }) => p.platform === 'android');
    expect(byPlatform.converged).toBe(byPlatform.devices);
  });

  it("moves only the exempted agent's phone to its new group policy, and back at expiry", async () => {
    fake.resetLog();
    const req = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: 'Compte X officiel du ministère de l’Intérieur', days: 30 })
      .expect(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
    await settle();
    const [lea] = await t.db.query(
      `SELECT android_device_name, group_id FROM device WHERE platform = 'android' AND unenrolled_at IS NULL AND agent_id = $1`,
      [await agentId('demo-presse-interieur')],
    );
    expect(lea.group_id).toMatch(/^interieur--/);
    expect(calls('PATCH', '/devices/').map((r) => r.path)).toEqual([`/v1/${lea.android_device_name}`]);
    expect(calls('PATCH', '/policies/').map((r) => r.path)).toEqual([`/v1/${ENTERPRISE}/policies/${lea.group_id}`]);
    const own = fake.state.policies.get(`${ENTERPRISE}/policies/${lea.group_id}`);
    expect(own?.applications?.some((a) => a.packageName === 'com.twitter.android')).toBe(false);
    expect(fake.state.devices.get(lea.android_device_name)?.appliedPolicyName).toBe(
      `${ENTERPRISE}/policies/${lea.group_id}`,
    );

    // At expiry the phone goes back to the ministry's policy: one devices.patch, nothing else.
    fake.resetLog();
    await t.db.query(`UPDATE exemption SET valid_until = now() - interval '1 second' WHERE id = $1`, [req.body.id]);
    await t.app.get(ExemptionSchedulerService).expireDue();
    await settle();
    expect(calls('PATCH', '/devices/').map((r) => (r.body as { policyName: string }).policyName)).toEqual([
      `${ENTERPRISE}/policies/interieur`,
    ]);
    expect(calls('PATCH', '/policies/')).toHaveLength(0);
    expect(fake.state.devices.get(lea.android_device_name)?.appliedPolicyName).toBe(`${ENTERPRISE}/policies/interieur`);
    const [back] = await t.db.query(
      `SELECT d.group_id, d.applied_hash = g.desired_hash AS converged FROM device d JOIN policy_group g ON g.id = d.group_id WHERE d.android_device_name = $1`,
      [lea.android_device_name],
    );
    expect(back).toEqual({ group_id: 'interieur', converged: true });
  });

  it('marks a phone with a banned app still installed non-compliant, with the app named, for its ministry', async () => {
    // A game preinstalled by the manufacturer, that the policy cannot remove.
    const phone = await enroll('interieur', {
      agentSub: 'demo-it-interieur',
      installed: ['com.king.candycrushsaga'],
      unremovable: ['com.king.candycrushsaga'],
    });
    await settle();
    await fetchStatus(phone.amapi.name as string);
    const list = await (
      await t.as('it.interieur')
    )
      .get('/ministries/interieur/devices?compliance=non-compliant')
      .expect(200);
    const device = list.body.items.find((d: { id: string }) => d.id === phone.row.id);
    // The same words as on an iPhone (one evaluator); AMAPI's APP_INSTALLED for it says nothing more.
    expect(device.complianceReason).toBe('banned app still installed: Candy Crush Saga');
    expect(device.installedApps).toContainEqual(expect.objectContaining({ id: 'com.king.candycrushsaga' }));
    expect(device.complianceReasons).toEqual([
      { code: 'banned-app', app: 'candy-crush-saga', text: 'banned app still installed: Candy Crush Saga' },
    ]);
    await (await t.as('it.culture')).get('/ministries/interieur/devices?compliance=non-compliant').expect(403);
  });

  it("refuses Pub/Sub pushes without Google's token or with a forged one, and a malformed one", async () => {
    const push = {
      message: { data: Buffer.from('{}').toString('base64'), attributes: { notificationType: 'STATUS_REPORT' } },
    };
    const none = await fetch(`${t.url}/android/pubsub`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(push),
    });
    expect(none.status).toBe(401);
    const forged = await fetch(`${t.url}/android/pubsub`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' },
      body: JSON.stringify(push),
    });
    expect(forged.status).toBe(401);
    // Pushes Google really sent were all accepted.
    expect(fake.pushes.length).toBeGreaterThan(0);
    expect(fake.pushes.every((p) => p.outcome === 'delivered')).toBe(true);
  });

  it("retries Google's 429 (honouring Retry-After), 503 and dropped connections, for PATCH too", async () => {
    fake.resetLog();
    fake.failNext(1, '429');
    fake.failNext(1, '503');
    fake.failNext(1, 'drop');
    const current = await (await t.as('it.interieur')).get('/policies/interieur').expect(200);
    const plan = await (
      await t.as('it.interieur')
    )
      .post('/policies/interieur/plan')
      .send({
        ...current.body.content,
        rules: [...current.body.content.rules, { app: 'wireguard', action: 'block', exemptable: false }],
      })
      .expect(201);
    await (await t.as('it.interieur')).post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    await settle();
    const patches = calls('PATCH', '/policies/');
    expect(patches.filter((r) => r.status >= 400 || r.fault).length).toBeGreaterThanOrEqual(2);
    const interieur = fake.state.policies.get(`${ENTERPRISE}/policies/interieur`);
    expect(interieur?.applications).toContainEqual({ packageName: 'com.wireguard.android', installType: 'BLOCKED' });
  });

  it("reconciles drift: a phone moved to another policy on Google's side is patched back, a deleted one is marked unenrolled", async () => {
    const a = await enroll('interieur', { agentSub: 'demo-agent-interieur' });
    const b = await enroll('interieur', { agentSub: 'demo-agent-interieur' });
    await settle();
    const stored = fake.state.devices.get(a.amapi.name as string);
    if (stored) stored.policyName = `${ENTERPRISE}/policies/interieur--bogus`;
    fake.deleteDeviceOnGoogleSide(b.amapi.name as string);
    await fake.idle();
    await (await t.as('it.culture')).post('/ministries/interieur/android/reconcile').expect(403);
    const summary = await (await t.as('it.interieur')).post('/ministries/interieur/android/reconcile').expect(200);
    expect(summary.body).toMatchObject({ repaired: 1, removed: expect.any(Number) });
    expect(fake.state.devices.get(a.amapi.name as string)?.policyName).toBe(`${ENTERPRISE}/policies/interieur`);
    const [gone] = await t.db.query(`SELECT unenrolled_at FROM device WHERE id = $1`, [b.row.id]);
    expect(gone.unenrolled_at).not.toBeNull();
  });
});

/** Makes the fake phone send a status report as it is now. */
async function fetchStatus(deviceName: string): Promise<void> {
  await fake.applyPolicies({ deviceNames: [deviceName] });
  await fake.idle();
}
