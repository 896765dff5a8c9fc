import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { AndroidPolicyHygieneService } from '../src/android/android-policy-hygiene.service';
import { ExemptionSchedulerService } from '../src/exemptions/exemption-scheduler.service';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { drainRolloutJobs } from './support/drain-jobs';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './support/fake-amapi-settings';
import { countRows, startTestApp, TestApp } from './support/test-app';

/**
 * What IT does to Android phones beyond policies, against the discovery-checked fake AMAPI:
 * retire (devices.delete with the wipe flags of the phone's ownership), lock, the enrollment link
 * for personal phones, a ministry that disallows personal use, and the deletion of policies no
 * group uses any more.
 */
let fake: FakeAmapi;
let t: TestApp;
const ENTERPRISE = 'enterprises/LC0lifecycle';
const ARMEES_ENTERPRISE = 'enterprises/LC0armees';

async function agentId(sub: string): Promise<string> {
  return (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
}

function calls(method: string, pathPart: string) {
  return fake.requests.filter((r) => r.method === method && r.path.includes(pathPart));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await drainRolloutJobs(t);
    await fake.idle();
  }
}

async function enroll(agentSub: string, ownership: 'COMPANY_OWNED' | 'PERSONALLY_OWNED') {
  const token = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/android/enrollment-tokens')
    .send({ agentId: await agentId(agentSub), durationMinutes: 60, personalUsage: 'allowed' })
    .expect(201);
  const device = await fake.enroll({ enrollmentTokenValue: token.body.value, ownership });
  await fake.idle();
  const [row] = await t.db.query(`SELECT id, ownership FROM device WHERE android_device_name = $1`, [device.name]);
  return { name: device.name as string, id: row.id as string, ownership: row.ownership as string };
}

const audits = async (action: string, entityId: string) =>
  (await t.db.query(
    `SELECT actor, ministry_code, before, after FROM audit_event WHERE action = $1 AND entity_id = $2`,
    [action, entityId],
  )) as { actor: string; ministry_code: string; before: unknown; after: Record<string, unknown> }[];

beforeAll(async () => {
  fake = await startFakeAmapi({
    enterprises: [ENTERPRISE, ARMEES_ENTERPRISE],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  t = await startTestApp({ listen: true, android: fakeAmapiSettings(fake) });
  fake.pubsub.pushEndpoint = `${t.url}/android/pubsub`;
  fake.pubsub.audience = PUBSUB_AUDIENCE;
  await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE platform = 'android'`);
  await (
    await t.as('it.interieur')
  )
    .put('/ministries/interieur/android/enterprise')
    .send({ enterpriseName: ENTERPRISE })
    .expect(200);
});
afterAll(async () => {
  await t?.close();
  await fake?.stop();
});

describe('Android phone lifecycle', () => {
  it('gives the enrollment link of a token that allows personal usage, and none otherwise', async () => {
    const it = await t.as('it.interieur');
    const personal = await it
      .post('/ministries/interieur/android/enrollment-tokens')
      .send({ durationMinutes: 60, personalUsage: 'allowed' })
      .expect(201);
    expect(personal.body.enrollmentLink).toBe(`https://enterprise.google.com/android/enroll?et=${personal.body.value}`);
    const stored = [...fake.state.enrollmentTokens.values()].find((tk) => tk.value === personal.body.value);
    expect(stored?.allowPersonalUsage).toBe('PERSONAL_USAGE_ALLOWED');
    const managed = await it
      .post('/ministries/interieur/android/enrollment-tokens')
      .send({ durationMinutes: 60, personalUsage: 'disallowed' })
      .expect(201);
    expect(managed.body.enrollmentLink).toBeNull();
    // With its link, a personally owned phone enrolls into a work profile.
    const phone = await fake.enroll({ enrollmentTokenValue: personal.body.value, ownership: 'PERSONALLY_OWNED' });
    expect(phone.managementMode).toBe('PROFILE_OWNER');
  });

  it('retires a company phone: devices.delete wipes it in full, it leaves the fleet, audited; twice is a 409', async () => {
    const phone = await enroll('demo-agent-interieur', 'COMPANY_OWNED');
    await settle();
    const before = await countRows(t.db, 'audit_event');
    await (
      await t.as('it.culture')
    )
      .post(`/devices/${phone.id}/retire`)
      .send({ reason: 'Départ de l’agent' })
      .expect(403);
    const empty = await (await t.as('it.interieur')).post(`/devices/${phone.id}/retire`).send({}).expect(400);
    expect(empty.body.message).toContain('reason');
    expect(await countRows(t.db, 'audit_event')).toBe(before);
    expect(fake.state.devices.has(phone.name)).toBe(true);

    fake.resetLog();
    const res = await (
      await t.as('it.interieur')
    )
      .post(`/devices/${phone.id}/retire`)
      .send({ reason: 'Départ de l’agent' })
      .expect(200);
    expect(res.body).toEqual({ deviceId: phone.id, wipe: 'full', wipeDataFlags: ['WIPE_EXTERNAL_STORAGE'] });
    const [call] = calls('DELETE', '/devices/');
    expect(call.path).toBe(`/v1/${phone.name}`);
    expect([call.query.wipeDataFlags].flat()).toEqual(['WIPE_EXTERNAL_STORAGE']);
    expect(call.status).toBe(200);
    expect(fake.state.devices.has(phone.name)).toBe(false);
    const [row] = await t.db.query(`SELECT unenrolled_at FROM device WHERE id = $1`, [phone.id]);
    expect(row.unenrolled_at).not.toBeNull();
    expect(await audits('device.retired', phone.id)).toEqual([
      expect.objectContaining({
        actor: expect.stringContaining('interieur'),
        ministry_code: 'interieur',
        after: { reason: 'Départ de l’agent', wipe: 'full', wipeDataFlags: ['WIPE_EXTERNAL_STORAGE'] },
      }),
    ]);
    const again = await (
      await t.as('it.interieur')
    )
      .post(`/devices/${phone.id}/retire`)
      .send({ reason: 'Départ de l’agent' })
      .expect(409);
    expect(again.body.message).toContain('left the fleet');
    await (await t.as('it.interieur')).post(`/devices/${phone.id}/lock`).expect(409);
    await (
      await t.as('it.interieur')
    )
      .post('/devices/00000000-0000-4000-8000-000000000000/retire')
      .send({ reason: 'Départ' })
      .expect(404);
  });

  it('retires a personal phone: only the work profile goes, with the reason shown to the agent', async () => {
    const phone = await enroll('demo-presse-interieur', 'PERSONALLY_OWNED');
    await settle();
    fake.resetLog();
    const res = await (
      await t.as('it.interieur')
    )
      .post(`/devices/${phone.id}/retire`)
      .send({ reason: 'Fin de mission : le profil professionnel est retiré' })
      .expect(200);
    expect(res.body).toEqual({ deviceId: phone.id, wipe: 'work-profile', wipeDataFlags: [] });
    const [call] = calls('DELETE', '/devices/');
    // No wipe flag on a personal phone: Google removes the work profile, the personal side is untouched.
    expect(call.query.wipeDataFlags).toBeUndefined();
    expect(call.query.wipeReasonMessage).toBe('Fin de mission : le profil professionnel est retiré');
    expect(fake.state.devices.has(phone.name)).toBe(false);
  });

  it('completes a retirement whose phone is already gone on Google’s side', async () => {
    const phone = await enroll('demo-agent-interieur', 'COMPANY_OWNED');
    fake.deleteDeviceOnGoogleSide(phone.name);
    await (await t.as('it.interieur')).post(`/devices/${phone.id}/retire`).send({ reason: 'Perdu' }).expect(200);
    const [row] = await t.db.query(`SELECT unenrolled_at FROM device WHERE id = $1`, [phone.id]);
    expect(row.unenrolled_at).not.toBeNull();
  });

  it('locks a lost phone with the LOCK command, audited; other ministries may not', async () => {
    const phone = await enroll('demo-agent-interieur', 'COMPANY_OWNED');
    fake.resetLog();
    await (await t.as('it.culture')).post(`/devices/${phone.id}/lock`).expect(403);
    expect(calls('POST', ':issueCommand')).toHaveLength(0);
    const res = await (await t.as('it.interieur')).post(`/devices/${phone.id}/lock`).expect(200);
    const [call] = calls('POST', ':issueCommand');
    expect(call.path).toBe(`/v1/${phone.name}:issueCommand`);
    expect(call.body).toEqual({ type: 'LOCK' });
    expect(res.body).toEqual({ deviceId: phone.id, command: expect.stringContaining(phone.name) });
    expect(await audits('device.locked', phone.id)).toEqual([
      expect.objectContaining({ after: { platform: 'android', command: res.body.command } }),
    ]);
  });

  it('refuses to lock an iPhone when Apple MDM is not configured, writing nothing', async () => {
    const [iphone] = await t.db.query(
      `SELECT id FROM device WHERE platform = 'ios' AND ministry_code = 'interieur' AND unenrolled_at IS NULL LIMIT 1`,
    );
    const before = await countRows(t.db, 'audit_event');
    const res = await (await t.as('it.interieur')).post(`/devices/${iphone.id}/lock`);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/not configured|not enrolled/);
    expect(await countRows(t.db, 'audit_event')).toBe(before);
  });

  it('enrolls only fully managed phones for a ministry whose allow-list disallows personal use', async () => {
    const it = await t.as('it.armees');
    await it.put('/ministries/armees/android/enterprise').send({ enterpriseName: ARMEES_ENTERPRISE }).expect(200);
    const current = await it.get('/policies/armees').expect(200);
    expect(current.body.content.personalSide).toBe('allowlist');
    const plan = await it
      .post('/policies/armees/plan')
      .send({ ...current.body.content, personalSide: 'disallowed' })
      .expect(201);
    expect(plan.body.plan.policies[0].personalSideChange).toEqual({ from: 'allowlist', to: 'disallowed' });
    expect(plan.body.text).toContain('~ personal side of company-owned phones allowlist → disallowed');
    await it.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    await settle();

    const refused = await it
      .post('/ministries/armees/android/enrollment-tokens')
      .send({ durationMinutes: 60, personalUsage: 'allowed' })
      .expect(409);
    expect(refused.body.message).toContain('disallows personal use');
    const token = await it
      .post('/ministries/armees/android/enrollment-tokens')
      .send({ durationMinutes: 60 })
      .expect(201);
    expect(token.body).toMatchObject({ personalUsage: 'disallowed', enrollmentLink: null });
    const stored = [...fake.state.enrollmentTokens.values()].find((tk) => tk.value === token.body.value);
    expect(stored?.allowPersonalUsage).toBe('PERSONAL_USAGE_DISALLOWED');
    const policy = fake.state.policies.get(`${ARMEES_ENTERPRISE}/policies/armees`);
    expect(policy?.playStoreMode).toBe('WHITELIST');
    expect(policy?.personalUsagePolicies).toEqual({ personalPlayStoreMode: 'ALLOWLIST', personalApplications: [] });
  });
});

describe('Android policy hygiene', () => {
  it('deletes the policy of an exemption group once its phone left it, retrying while Google says a device uses it', async () => {
    const hygiene = t.app.get(AndroidPolicyHygieneService);
    const phone = await enroll('demo-presse-interieur', 'PERSONALLY_OWNED');
    await settle();
    const req = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: 'Compte X officiel du ministère de l’Intérieur', days: 30 })
      .expect(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
    await settle();
    const [{ group_id: group }] = await t.db.query(`SELECT group_id FROM device WHERE id = $1`, [phone.id]);
    expect(group).toMatch(/^interieur--/);
    const exemptionPolicy = `${ENTERPRISE}/policies/${group}`;
    expect(fake.state.policies.has(exemptionPolicy)).toBe(true);

    // In use: nothing to delete.
    expect((await hygiene.run({ graceMs: 0 })).deleted).not.toContain(exemptionPolicy);

    await t.db.query(`UPDATE exemption SET valid_until = now() - interval '1 second' WHERE id = $1`, [req.body.id]);
    await t.app.get(ExemptionSchedulerService).expireDue();
    await settle();
    expect(fake.state.devices.get(phone.name)?.policyName).toBe(`${ENTERPRISE}/policies/interieur`);

    // Unused now, but within the grace period: kept.
    expect(await hygiene.run()).toMatchObject({ deleted: [], stillReferenced: [] });
    expect(fake.state.policies.has(exemptionPolicy)).toBe(true);

    // A phone we do not know of still uses it on Google's side: Google refuses, tried again later.
    const stranger = await enroll('demo-agent-interieur', 'COMPANY_OWNED');
    const onGoogle = fake.state.devices.get(stranger.name);
    if (onGoogle) onGoogle.policyName = exemptionPolicy;
    await t.db.query(`UPDATE android_policy_cleanup SET next_attempt_at = now()`);
    const refused = await hygiene.run({ graceMs: 0 });
    expect(refused.stillReferenced).toEqual([exemptionPolicy]);
    expect(calls('DELETE', `/policies/${group}`).map((r) => r.status)).toContain(400);
    const [pending] = await t.db.query(
      `SELECT attempts, next_attempt_at > now() AS later, last_error FROM android_policy_cleanup WHERE policy_name = $1`,
      [group],
    );
    expect(pending).toMatchObject({
      attempts: 1,
      later: true,
      last_error: expect.stringContaining('FAILED_PRECONDITION'),
    });
    expect(fake.state.policies.has(exemptionPolicy)).toBe(true);
    // Not due yet: no call.
    fake.resetLog();
    await hygiene.run({ graceMs: 0 });
    expect(calls('DELETE', '/policies/')).toHaveLength(0);

    // The phone moved on; at the next attempt the policy goes, audited. The ministry's own policy stays.
    if (onGoogle) onGoogle.policyName = `${ENTERPRISE}/policies/interieur`;
    await t.db.query(`UPDATE android_policy_cleanup SET next_attempt_at = now()`);
    const done = await hygiene.run({ graceMs: 0 });
    expect(done.deleted).toEqual([exemptionPolicy]);
    expect(fake.state.policies.has(exemptionPolicy)).toBe(false);
    expect(fake.state.policies.has(`${ENTERPRISE}/policies/interieur`)).toBe(true);
    expect(await audits('android.policy-deleted', exemptionPolicy)).toEqual([
      expect.objectContaining({ ministry_code: 'interieur', after: { group, variant: 'stable', alreadyGone: false } }),
    ]);
    fake.resetLog();
    expect((await hygiene.run({ graceMs: 0 })).deleted).toEqual([]);
    expect(calls('DELETE', '/policies/')).toHaveLength(0);

    // The same exemption again: the group's policy is published anew and the phone goes to it.
    const again = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: 'Compte X officiel du ministère de l’Intérieur', days: 30 })
      .expect(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${again.body.id}/approve`).send({}).expect(200);
    await settle();
    expect(fake.state.policies.has(exemptionPolicy)).toBe(true);
    expect(fake.state.devices.get(phone.name)?.policyName).toBe(exemptionPolicy);
  });
  it('deletes a canary policy once its rollout reaches the final stage, not before', async () => {
    const hygiene = t.app.get(AndroidPolicyHygieneService);
    const it = await t.as('it.interieur');
    const current = await it.get('/policies/interieur').expect(200);
    const plan = await it
      .post('/policies/interieur/plan')
      .send({
        ...current.body.content,
        rules: [...current.body.content.rules, { app: 'wireguard', action: 'block', exemptable: false }],
      })
      .expect(201);
    const applied = await it
      .post(`/policy-plans/${plan.body.id}/apply`)
      .send({ stages: [50, 100], stageWaitMinutes: 0 })
      .expect(200);
    const rolloutId = applied.body.applied[0].rolloutId;
    await settle();
    const canary = `${ENTERPRISE}/policies/interieur.canary`;
    expect(fake.state.policies.has(canary)).toBe(true);
    // The first stage runs: its phones use the canary.
    expect((await hygiene.run({ graceMs: 0 })).deleted).not.toContain(canary);
    expect(fake.state.policies.has(canary)).toBe(true);

    await t.app.get(RolloutEngine).advanceStages(new Date(Date.now() + 60_000));
    await settle();
    const [rollout] = await t.db.query(`SELECT stage_index FROM rollout WHERE id = $1`, [rolloutId]);
    expect(rollout.stage_index).toBe(1);
    const done = await hygiene.run({ graceMs: 0 });
    expect(done.deleted).toContain(canary);
    expect(fake.state.policies.has(canary)).toBe(false);
    expect(fake.state.policies.get(`${ENTERPRISE}/policies/interieur`)?.applications).toContainEqual({
      packageName: 'com.wireguard.android',
      installType: 'BLOCKED',
    });
    const [group] = await t.db.query(`SELECT shared_canary_hash FROM policy_group WHERE id = 'interieur'`);
    // Forgotten: the next staged rollout publishes its canary again.
    expect(group.shared_canary_hash).toBeNull();
  });
});
