import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { backoffMs } from '../src/android/amapi-client.service';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { drainRolloutJobs } from './support/drain-jobs';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './support/fake-amapi-settings';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Retries that mean something (issue 14), against the fake Android Management API: phones that
 * are switched off wait (they are never patched again nor failed), the stage gate counts only this
 * rollout's real failures among the phones that reported, and a 429 slows every worker down.
 */
let fake: FakeAmapi;
let t: TestApp;
const ENTERPRISE = 'enterprises/LC0retries';
const QUOTA_PER_100S = 100_000;
/** The phones of the test, by Android Management API name; the first ones are "online". */
let phones: { name: string; id: string }[] = [];

function calls(method: string, pathPart: string) {
  return fake.requests.filter((r) => r.method === method && r.path.includes(pathPart));
}

/** The online phones fetch their policy and report, as a phone that is switched on does. */
async function online(names: string[]): Promise<void> {
  await fake.applyPolicies({ deviceNames: names });
  await fake.idle();
}

/** Plans and applies a change of the ministry's policy through the API, as ministry IT does. */
async function change(app: string, rollout: object = {}): Promise<string> {
  const as = await t.as('it.interieur');
  const current = (await as.get('/policies/interieur').expect(200)).body.content;
  const plan = await as
    .post('/policies/interieur/plan')
    .send({ ...current, rules: [...current.rules, { app, action: 'block', exemptable: false }] });
  expect(plan.body.message ?? '').toBe('');
  expect(plan.status).toBe(201);
  const applied = await as.post(`/policy-plans/${plan.body.id}/apply`).send(rollout).expect(200);
  return applied.body.applied[0].rolloutId as string;
}

/** Every backoff is over: the last push and the last group change two hours back. */
async function ageAll(): Promise<void> {
  await t.db.query(`UPDATE device SET last_push_at = now() - interval '2 hours' WHERE platform = 'android'`);
  await t.db.query(`UPDATE policy_group SET updated_at = now() - interval '2 hours'`);
}

/** Retry ticks through the whole backoff (1 min … 1 h), each followed by the jobs it queued. */
async function retryTicks(n = 8): Promise<number> {
  const engine = t.app.get(RolloutEngine);
  let retried = 0;
  for (let i = 0; i < n; i++) {
    await ageAll();
    retried += (await engine.retryDiverged()).retried;
    await drainRolloutJobs(t);
  }
  return retried;
}

async function deviceView(id: string) {
  return (await (await t.as('it.interieur')).get(`/devices/${id}`).expect(200)).body;
}

beforeAll(async () => {
  fake = await startFakeAmapi({ enterprises: [ENTERPRISE], projectId: 'mdm-etat', autoApply: false });
  t = await startTestApp({ listen: true, android: fakeAmapiSettings(fake, { quotaPer100s: QUOTA_PER_100S }) });
  fake.pubsub.pushEndpoint = `${t.url}/android/pubsub`;
  fake.pubsub.audience = PUBSUB_AUDIENCE;
  // The template's Android phones are not Android Enterprise devices: out of the way.
  await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE platform = 'android'`);
  await (
    await t.as('it.interieur')
  )
    .put('/ministries/interieur/android/enterprise')
    .send({ enterpriseName: ENTERPRISE })
    .expect(200);
  const token = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/android/enrollment-tokens')
    .send({ durationMinutes: 60 })
    .expect(201);
  for (let i = 0; i < 6; i++) {
    const device = await fake.enroll({ enrollmentTokenValue: token.body.value });
    await fake.idle();
    const [row] = await t.db.query(`SELECT id FROM device WHERE android_device_name = $1`, [device.name]);
    phones.push({ name: device.name as string, id: row.id as string });
  }
  await drainRolloutJobs(t);
  await online(phones.map((p) => p.name));
  // Stage positions: the first four are released by a 50 % stage, the last two are not.
  await t.db.query(`UPDATE device SET bucket = CASE WHEN id = ANY($1) THEN 100 ELSE 9000 END WHERE id = ANY($2)`, [
    phones.slice(0, 4).map((p) => p.id),
    phones.map((p) => p.id),
  ]);
});
afterAll(async () => {
  await t.close();
  await fake.stop();
});

describe('Android retries', () => {
  it('starts with every phone converged on its ministry policy', async () => {
    for (const p of phones) expect(await deviceView(p.id)).toMatchObject({ converged: true, delivery: 'converged' });
  });

  it('never patches a phone already on its policy: a baseline change and every retry tick cost no devices.patch', async () => {
    fake.resetLog();
    await change('nextcloud');
    await drainRolloutJobs(t);
    const [up, down] = [phones.slice(0, 4), phones.slice(4)];
    await online(up.map((p) => p.name));
    expect(await retryTicks()).toBe(0);
    expect(calls('PATCH', '/policies/')).toHaveLength(1);
    expect(calls('PATCH', '/devices/')).toHaveLength(0);

    // The switched-off phones wait, with the time they were last heard from; nobody failed.
    for (const p of down) {
      const view = await deviceView(p.id);
      expect(view).toMatchObject({ converged: false, delivery: 'waiting', pushState: 'ok', pushError: null });
      expect(view.lastSeenAt).not.toBeNull();
    }
    const status = (await (await t.as('it.interieur')).get('/ministries/interieur/rollout-status').expect(200)).body;
    expect(status.failed).toBe(0);
    expect(status.failures).toEqual([]);
    const waitingPhones = status.waiting.filter((w: { platform: string }) => w.platform === 'android');
    expect(waitingPhones.map((w: { deviceId: string }) => w.deviceId).sort()).toEqual(down.map((p) => p.id).sort());
    expect(waitingPhones[0].lastSeenAt).not.toBeNull();
    await (await t.as('it.culture')).get('/ministries/interieur/rollout-status').expect(403);

    // Switched on again, they converge by themselves.
    await online(down.map((p) => p.name));
    for (const p of down) expect(await deviceView(p.id)).toMatchObject({ converged: true, delivery: 'converged' });
  });

  it('does not pause a stage for switched-off phones nor for failures of other content', async () => {
    const rolloutId = await change('wireguard', { stages: [50, 100], stageWaitMinutes: 60 });
    await drainRolloutJobs(t);
    const released = phones.slice(0, 4);
    // Released phones are attached to the canary policy: one devices.patch each, once.
    expect(
      calls('PATCH', '/devices/').filter((r) => r.path.endsWith(released[0].name.split('/').pop() as string)),
    ).toHaveLength(1);
    const patched = calls('PATCH', '/devices/').length;
    await online([released[0].name]); // the others are switched off
    // An old failure, for content of an earlier change, on a released phone: not this rollout's.
    await t.db.query(
      `UPDATE device SET push_state = 'failed', push_failed_for = 'an-earlier-change', push_error = 'old' WHERE id = $1`,
      [released[3].id],
    );
    expect(await retryTicks()).toBe(0);
    expect(calls('PATCH', '/devices/')).toHaveLength(patched); // switched-off canaries are not patched again
    await t.app.get(RolloutEngine).advanceStages(new Date(Date.now() + 61 * 60_000));
    const view = (await (await t.as('it.interieur')).get(`/rollouts/${rolloutId}`).expect(200)).body;
    expect(view).toMatchObject({ status: 'running', stageIndex: 1, pauseReason: null });
    await drainRolloutJobs(t);
    await online(phones.map((p) => p.name));
    // Final stage: every phone back on the stable policy, with the new content.
    for (const p of phones) {
      expect(await deviceView(p.id)).toMatchObject({ converged: true, boundPolicy: 'interieur' });
    }
  });

  it("pauses a stage on this rollout's real failures among the phones that reported", async () => {
    const released = phones.slice(0, 4);
    // A phone wiped on Google's side: attaching it to the canary is refused (404), a real error.
    fake.deleteDeviceOnGoogleSide(released[1].name);
    const rolloutId = await change('onedrive', { stages: [50, 100], stageWaitMinutes: 60 });
    await drainRolloutJobs(t);
    await online([released[0].name]); // released[2] and released[3] are switched off
    expect(await deviceView(released[1].id)).toMatchObject({ delivery: 'failed', pushState: 'failed' });
    await t.app.get(RolloutEngine).advanceStages(new Date(Date.now() + 61 * 60_000));
    const view = (await (await t.as('it.interieur')).get(`/rollouts/${rolloutId}`).expect(200)).body;
    expect(view.status).toBe('paused');
    // Not reported: the two switched-off phones and the template's iPhones of the released half.
    expect(view.pauseReason).toMatch(
      /^1 of the 2 released phones that reported failed \(more than 5 %\); \d+ not reported yet, not counted$/,
    );
    await (await t.as('it.interieur')).post(`/rollouts/${rolloutId}/abort`).send({}).expect(200);
    await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE id = $1`, [released[1].id]);
    phones = phones.filter((p) => p.id !== released[1].id);
  });

  it('picks no more phones per retry tick than the shared bucket lets through in a minute', async () => {
    // After the aborted rollout, a change for everyone at once: the stable policy carries it.
    await change('cisco-secure-client');
    await drainRolloutJobs(t);
    await online(phones.map((p) => p.name));
    // Five phones whose devices.patch did not go through (the push failed, retryable).
    const lost = phones.slice(0, 5);
    await t.db.query(`UPDATE device SET bound_policy = 'lost', push_state = 'retrying' WHERE id = ANY($1)`, [
      lost.map((p) => p.id),
    ]);
    // The bucket was slowed down to 0.05 call/s and has no token in hand: 3 calls in the next minute.
    await t.db.query(`UPDATE rate_limit SET rate = 0.05, tokens = 0, refilled_at = now() WHERE key = 'amapi'`);
    await ageAll();
    const engine = t.app.get(RolloutEngine);
    expect(await engine.retryDiverged()).toEqual({ retried: 3 });
    await t.db.query(`UPDATE rate_limit SET rate = NULL, tokens = 10, refilled_at = now() WHERE key = 'amapi'`);
    fake.resetLog();
    await drainRolloutJobs(t);
    expect(calls('PATCH', '/devices/').map((r) => (r.body as { policyName: string }).policyName)).toEqual(
      Array(3).fill(`${ENTERPRISE}/policies/interieur`),
    );
    await ageAll();
    expect(await engine.retryDiverged()).toEqual({ retried: 2 });
    await drainRolloutJobs(t);
    expect(calls('PATCH', '/devices/')).toHaveLength(5);
    expect(await retryTicks()).toBe(0);
  });

  it('after a 429 without a wait given, spaces its retries by the backoff floor and slows the shared bucket', async () => {
    fake.resetLog();
    fake.faults = { ...fake.faults, retryAfterSeconds: null };
    fake.failNext(3, '429');
    await change('adobe-acrobat');
    await drainRolloutJobs(t);
    const patches = calls('PATCH', '/policies/');
    expect(patches.map((r) => r.status)).toEqual([429, 429, 429, 200]);
    const at = patches.map((r) => Date.parse(r.at));
    for (let i = 1; i < at.length; i++) {
      // The lowest wait the backoff allows before retry i (jitter at its minimum): 0.5 s, 1 s, 2 s.
      expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(backoffMs(i - 1, 0, () => 0));
    }
    const [bucket] = await t.db.query(`SELECT rate FROM rate_limit WHERE key = 'amapi'`);
    expect(bucket.rate).not.toBeNull();
    expect(bucket.rate).toBeLessThan(QUOTA_PER_100S / 100);
  });
});
