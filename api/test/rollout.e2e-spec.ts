import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { drainRolloutJobs } from './support/drain-jobs';
import { RecordingAdapter } from './support/recording-adapter';
import { startTestApp, TestApp } from './support/test-app';

let t: TestApp;

async function setup(): Promise<void> {
  t = await startTestApp();
  t.adapters.android.autoApply = true;
  t.adapters.ios.autoApply = true;
  // The template's devices get their first policy; everything converges before each scenario.
  await drainRolloutJobs(t);
  t.adapters.android.reset();
  t.adapters.ios.reset();
}

async function devices(
  where: string,
  params: unknown[] = [],
): Promise<{ id: string; platform: string; bucket: number; group_id: string; ministry_code: string }[]> {
  return t.db.query(
    `SELECT id, platform, bucket, group_id, ministry_code FROM device WHERE ${where} ORDER BY id`,
    params,
  );
}

/** Plans and applies new content for a scope through the API, as ministry IT does. */
async function change(
  login: string,
  scope: string,
  edit: (rules: object[]) => object[],
  rollout?: object,
): Promise<string> {
  const as = await t.as(login);
  const current = (await as.get(`/policies/${scope}`).expect(200)).body.content;
  const plan = await as
    .post(`/policies/${scope}/plan`)
    .send({ ...current, rules: edit(current.rules) })
    .expect(201);
  const applied = await as
    .post(`/policy-plans/${plan.body.id}/apply`)
    .send(rollout ?? {})
    .expect(200);
  return applied.body.applied[0].rolloutId as string;
}

async function progress(id: string, login = 'admin.national') {
  return (await (await t.as(login)).get(`/rollouts/${id}`).expect(200)).body;
}

const sorted = (xs: string[]) => [...xs].sort();

/** Moves a device's last push and its group's last change two hours back: its backoff is over. */
async function age(deviceId: string): Promise<void> {
  await t.db.query(`UPDATE device SET last_push_at = now() - interval '2 hours' WHERE id = $1`, [deviceId]);
  await t.db.query(
    `UPDATE policy_group SET updated_at = now() - interval '2 hours' WHERE id = (SELECT group_id FROM device WHERE id = $1)`,
    [deviceId],
  );
}

describe('rollout engine', () => {
  beforeEach(setup);
  afterEach(() => t.close());

  it('schedules exactly the devices a ministry change touches, and converges', async () => {
    const culture = await devices(`ministry_code = 'culture'`);
    const rolloutId = await change('it.culture', 'culture', (rules) => [
      ...rules,
      { app: 'dropbox', action: 'block', exemptable: false },
    ]);
    expect((await progress(rolloutId)).status).toBe('preparing');
    await drainRolloutJobs(t);

    // Apple: one push per culture iPhone, nobody else's. Android: the culture group policies only.
    expect(sorted(t.adapters.ios.pushes().map((p) => p.deviceId))).toEqual(
      sorted(culture.filter((d) => d.platform === 'ios').map((d) => d.id)),
    );
    const cultureGroups = [...new Set(culture.map((d) => d.group_id))];
    expect(sorted(t.adapters.android.publishes().map((p) => p.policyName))).toEqual(sorted(cultureGroups));
    expect(t.adapters.android.pushes()).toEqual([]); // devices already attached follow their group's policy

    const view = await progress(rolloutId, 'it.culture');
    expect(view).toMatchObject({ status: 'running', scope: 'culture', stages: [100] });
    expect(view.totals).toMatchObject({
      devices: culture.length,
      converged: culture.length,
      pending: 0,
      failed: 0,
      held: 0,
    });
    await t.app.get(RolloutEngine).advanceStages();
    expect((await progress(rolloutId)).status).toBe('completed');
  });

  it('costs one Android publish per group and one push per iPhone for a national change', async () => {
    const [{ groups }] = await t.db.query(`SELECT count(*)::int AS groups FROM policy_group`);
    const iphones = await devices(`platform = 'ios'`);
    const rolloutId = await change('admin.national', 'national', (rules) => [
      ...rules,
      { app: 'nextcloud', action: 'block', exemptable: false, legalBasis: 'Test de déploiement national' },
    ]);
    await drainRolloutJobs(t);
    expect(t.adapters.android.publishes()).toHaveLength(groups);
    expect(t.adapters.android.pushes()).toHaveLength(0);
    expect(t.adapters.ios.pushes()).toHaveLength(iphones.length);
    const view = await progress(rolloutId);
    expect(view.groups).toBe(groups);
    expect(view.totals.converged).toBe(view.totals.devices);
    // Running the same jobs again pushes nothing twice.
    const boss = t.app.get(RolloutEngine);
    for (const group of (await t.db.query(`SELECT group_id FROM rollout_group WHERE rollout_id = $1`, [rolloutId])) as {
      group_id: string;
    }[]) {
      await boss.handlePush({ rolloutId, groupId: group.group_id, stageIndex: 0 });
    }
    expect(t.adapters.android.publishes()).toHaveLength(groups);
    expect(t.adapters.ios.pushes()).toHaveLength(iphones.length);
  });

  it("moves only the exempted agent's devices to a new group when an exemption is approved", async () => {
    const lea = await devices(`agent_id = (SELECT id FROM agent WHERE sub = 'demo-presse-interieur')`);
    const req = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: "Compte X officiel du ministère de l'Intérieur", days: 30 })
      .expect(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
    await drainRolloutJobs(t);
    const moved = await devices(`id = ANY($1)`, [lea.map((d) => d.id)]);
    expect(moved.every((d) => d.group_id.startsWith('interieur--'))).toBe(true);
    const pushed = [...t.adapters.android.pushes(), ...t.adapters.ios.pushes()].map((p) => p.deviceId);
    expect(sorted(pushed)).toEqual(sorted(lea.map((d) => d.id)));
    const androidLea = lea.filter((d) => d.platform === 'android');
    expect(t.adapters.android.publishes().map((p) => p.policyName)).toEqual(
      androidLea.length ? [moved[0].group_id] : [],
    );
    const device = (await (await t.as('presse.interieur')).get(`/devices/${lea[0].id}`).expect(200)).body;
    expect(device.converged).toBe(true);
  });

  it('respects the stages of a staged rollout: 10 % → 50 % → 100 %, waits, canary policies on Android', async () => {
    const all = await devices('true');
    const rolloutId = await change(
      'admin.national',
      'national',
      (rules) => [...rules, { app: 'wireguard', action: 'block', exemptable: false, legalBasis: 'Test' }],
      {
        stages: [10, 50, 100],
        stageWaitMinutes: 60,
      },
    );
    await drainRolloutJobs(t);
    const inStage = (from: number, to: number) => all.filter((d) => d.bucket >= from && d.bucket < to);
    const iosIds = (xs: typeof all) => sorted(xs.filter((d) => d.platform === 'ios').map((d) => d.id));
    expect(sorted(t.adapters.ios.pushes().map((p) => p.deviceId))).toEqual(iosIds(inStage(0, 1000)));
    expect(t.adapters.android.publishes().every((p) => p.policyName.endsWith('.canary'))).toBe(true);
    expect(sorted(t.adapters.android.pushes().map((p) => p.deviceId))).toEqual(
      sorted(
        inStage(0, 1000)
          .filter((d) => d.platform === 'android')
          .map((d) => d.id),
      ),
    );
    let view = await progress(rolloutId);
    expect(view.progress.map((s: { released: boolean }) => s.released)).toEqual([true, false, false]);
    expect(view.progress[1].held + view.progress[2].held).toBe(all.length - inStage(0, 1000).length);

    // Not before the wait is over.
    const engine = t.app.get(RolloutEngine);
    await engine.advanceStages();
    await drainRolloutJobs(t);
    expect((await progress(rolloutId)).stageIndex).toBe(0);
    await engine.advanceStages(new Date(Date.now() + 61 * 60_000));
    await drainRolloutJobs(t);
    view = await progress(rolloutId);
    expect(view.stageIndex).toBe(1);
    expect(sorted(t.adapters.ios.pushes().map((p) => p.deviceId))).toEqual(iosIds(inStage(0, 5000)));

    // Ministry IT of one ministry cannot drive a national rollout; a national admin can skip the wait.
    await (await t.as('it.interieur')).post(`/rollouts/${rolloutId}/advance`).expect(403);
    await (await t.as('admin.national')).post(`/rollouts/${rolloutId}/advance`).expect(200);
    await drainRolloutJobs(t);
    expect(sorted(t.adapters.ios.pushes().map((p) => p.deviceId))).toEqual(iosIds(all));
    // Final stage: the stable policy is published and the canaries are attached back to it.
    expect(t.adapters.android.publishes().some((p) => !p.policyName.endsWith('.canary'))).toBe(true);
    const bound = (
      await t.db.query(
        `SELECT count(*)::int AS n FROM device WHERE platform = 'android' AND bound_policy LIKE '%.canary'`,
      )
    )[0].n;
    expect(bound).toBe(0);
    view = await progress(rolloutId);
    expect(view.totals).toMatchObject({ converged: all.length, held: 0, pending: 0 });
    const again = await (await t.as('admin.national')).post(`/rollouts/${rolloutId}/advance`).expect(409);
    expect(again.body.message).toContain('last stage');
  });

  it('completes once only switched-off phones are left, an hour after its last stage, and says how many wait', async () => {
    t.adapters.ios.autoApply = false; // the iPhones are switched off: pushed, never heard from
    const rolloutId = await change('it.economie', 'economie', (rules) => [
      ...rules,
      { app: 'nextcloud', action: 'block', exemptable: false },
    ]);
    await drainRolloutJobs(t);
    const silent = await devices(`ministry_code = 'economie' AND platform = 'ios'`);
    expect(silent.length).toBeGreaterThan(0);
    const engine = t.app.get(RolloutEngine);
    const [{ released }] = await t.db.query(`SELECT stage_started_at AS released FROM rollout WHERE id = $1`, [
      rolloutId,
    ]);
    const later = (minutes: number) => new Date((released as Date).getTime() + minutes * 60_000);
    await engine.advanceStages(later(30)); // too early to call them switched off
    expect((await progress(rolloutId, 'it.economie')).status).toBe('running');
    // One of them checks in at 40 min without applying yet: still on its way, the rollout waits for it.
    await t.db.query(`UPDATE device SET last_seen_at = $2 WHERE id = $1`, [silent[0].id, later(40)]);
    await engine.advanceStages(later(61));
    expect((await progress(rolloutId, 'it.economie')).status).toBe('running');
    await engine.advanceStages(later(101));
    const done = await progress(rolloutId, 'it.economie');
    expect(done.status).toBe('completed');
    expect(done.totals).toMatchObject({ pending: silent.length, failed: 0 });
    const [audit] = await t.db.query(
      `SELECT after FROM audit_event WHERE entity_id = $1 AND action = 'rollout.completed'`,
      [rolloutId],
    );
    expect(audit.after).toEqual({ waitingForSilentPhones: silent.length });
  });

  it('stops further pushes on abort, and holds them while paused', async () => {
    const rolloutId = await change(
      'it.interieur',
      'interieur',
      (rules) => [...rules, { app: 'nextcloud', action: 'block', exemptable: false }],
      { stages: [10, 100] },
    );
    await drainRolloutJobs(t);
    const firstWave = t.adapters.ios.pushes().length;
    await (
      await t.as('it.interieur')
    )
      .post(`/rollouts/${rolloutId}/pause`)
      .send({ reason: 'Incident signalé' })
      .expect(200);
    await (await t.as('it.interieur')).post(`/rollouts/${rolloutId}/pause`).send({}).expect(409);
    await t.app.get(RolloutEngine).advanceStages(new Date(Date.now() + 86_400_000));
    await drainRolloutJobs(t);
    expect(t.adapters.ios.pushes()).toHaveLength(firstWave);
    expect((await progress(rolloutId, 'it.interieur')).pauseReason).toBe('Incident signalé');

    await (await t.as('it.culture')).post(`/rollouts/${rolloutId}/abort`).send({ reason: 'no' }).expect(403);
    const aborted = await (
      await t.as('it.interieur')
    )
      .post(`/rollouts/${rolloutId}/abort`)
      .send({ reason: 'Régression constatée' })
      .expect(200);
    expect(aborted.body.status).toBe('aborted');
    await (await t.as('it.interieur')).post(`/rollouts/${rolloutId}/resume`).expect(409);
    await t.app.get(RolloutEngine).advanceStages(new Date(Date.now() + 86_400_000));
    await drainRolloutJobs(t);
    expect(t.adapters.ios.pushes()).toHaveLength(firstWave);
    const actions = (
      await t.db.query(`SELECT action FROM audit_event WHERE entity_id = $1 ORDER BY seq`, [rolloutId])
    ).map((r: { action: string }) => r.action);
    expect(actions).toEqual(['rollout.started', 'rollout.paused', 'rollout.aborted']);
  });

  it('drops the pushes already queued when a rollout is aborted before they run', async () => {
    const rolloutId = await change('it.culture', 'culture', (rules) => [
      ...rules,
      { app: 'nextcloud', action: 'block', exemptable: false },
    ]);
    await t.app.get(RolloutEngine).prepare(rolloutId); // the start job ran; the push jobs are queued
    await (await t.as('it.culture')).post(`/rollouts/${rolloutId}/abort`).send({}).expect(200);
    await drainRolloutJobs(t);
    expect(t.adapters.ios.pushes()).toHaveLength(0);
    expect(t.adapters.android.publishes()).toHaveLength(0);
  });

  it('fails a phone that reports a real error at once, with the reason, and never pushes it again', async () => {
    const [phone] = await devices(`ministry_code = 'economie' AND platform = 'ios'`);
    t.adapters.ios.broken.add(phone.id);
    await change('it.economie', 'economie', (rules) => [
      ...rules,
      { app: 'nextcloud', action: 'block', exemptable: false },
    ]);
    await drainRolloutJobs(t);
    const engine = t.app.get(RolloutEngine);
    for (let tick = 0; tick < 3; tick++) {
      await age(phone.id);
      expect(await engine.retryDiverged()).toEqual({ retried: 0 });
      await drainRolloutJobs(t);
    }
    expect(t.adapters.ios.pushes().filter((p) => p.deviceId === phone.id)).toHaveLength(1);
    const status = (await (await t.as('it.economie')).get('/ministries/economie/rollout-status').expect(200)).body;
    expect(status.failed).toBe(1);
    expect(status.failures).toEqual([
      expect.objectContaining({ deviceId: phone.id, reason: 'the phone reports an error' }),
    ]);
    expect(status.waiting).toEqual([]);
    const device = (await (await t.as('it.economie')).get(`/devices/${phone.id}`).expect(200)).body;
    expect(device).toMatchObject({ delivery: 'failed', pushError: 'the phone reports an error' });
    await (await t.as('it.interieur')).get('/ministries/economie/rollout-status').expect(403);
    await (await t.as('agent.economie')).get('/ministries/economie/rollout-status').expect(403);
  });

  it('retries a push that did not go through, with backoff, and only that one; a silent phone waits', async () => {
    const [phone, silent] = await devices(`ministry_code = 'economie' AND platform = 'ios'`);
    t.adapters.ios.failNext = 1; // the first push of the rollout does not go through
    t.adapters.ios.autoApply = false; // and no iPhone reports back
    await change('it.economie', 'economie', (rules) => [
      ...rules,
      { app: 'nextcloud', action: 'block', exemptable: false },
    ]);
    await drainRolloutJobs(t);
    const [failedFirst] = await devices(`ministry_code = 'economie' AND platform = 'ios' AND push_state = 'retrying'`);
    expect(failedFirst).toBeDefined();
    const engine = t.app.get(RolloutEngine);
    expect(await engine.retryDiverged()).toEqual({ retried: 0 }); // backoff: not yet
    await age(failedFirst.id);
    await age(silent.id === failedFirst.id ? phone.id : silent.id);
    expect(await engine.retryDiverged()).toEqual({ retried: 1 });
    await drainRolloutJobs(t);
    expect(t.adapters.ios.pushes().filter((p) => p.deviceId === failedFirst.id)).toHaveLength(1);
    // Sent and silent since: waiting with its last-seen time, never pushed again, never failed.
    for (let tick = 0; tick < 8; tick++) {
      await age(failedFirst.id);
      expect(await engine.retryDiverged()).toEqual({ retried: 0 });
    }
    const device = (await (await t.as('it.economie')).get(`/devices/${failedFirst.id}`).expect(200)).body;
    expect(device).toMatchObject({ delivery: 'waiting', pushState: 'ok', converged: false });
    const status = (await (await t.as('it.economie')).get('/ministries/economie/rollout-status').expect(200)).body;
    expect(status.failed).toBe(0);
    expect(status.waiting).toContainEqual(
      expect.objectContaining({ deviceId: failedFirst.id, lastSeenAt: device.lastSeenAt }),
    );
  });

  it('gives a device to another agent of another ministry: its policy follows, audited, pushed', async () => {
    const [phone] = await devices(`agent_id = (SELECT id FROM agent WHERE sub = 'demo-agent-culture')`);
    const [target] = await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-agent-armees'`);
    await (await t.as('it.culture')).post(`/devices/${phone.id}/reassign`).send({ agentId: target.id }).expect(403); // not IT of armees
    await (await t.as('agent.culture')).post(`/devices/${phone.id}/reassign`).send({ agentId: target.id }).expect(403);
    await (await t.as('admin.national')).post(`/devices/${phone.id}/reassign`).send({ agentId: 'nobody' }).expect(400);
    const moved = await (
      await t.as('admin.national')
    )
      .post(`/devices/${phone.id}/reassign`)
      .send({ agentId: target.id })
      .expect(200);
    expect(moved.body).toMatchObject({ ministryCode: 'armees', groupId: 'armees', converged: false });
    await drainRolloutJobs(t);
    expect([...t.adapters.android.pushes(), ...t.adapters.ios.pushes()].map((p) => [p.deviceId, p.policyName])).toEqual(
      [[phone.id, 'armees']],
    );
    const after = (await (await t.as('it.armees')).get(`/devices/${phone.id}`).expect(200)).body;
    expect(after.converged).toBe(true);
    const [event] = await t.db.query(`SELECT action, ministry_code FROM audit_event WHERE entity_id = $1`, [phone.id]);
    expect(event).toEqual({ action: 'device.reassigned', ministry_code: 'armees' });
  });

  it('retries a job whose platform call failed (outage mid-job) until the devices converge', async () => {
    await t.stop();
    const adapters = { android: new RecordingAdapter('android'), ios: new RecordingAdapter('ios') };
    adapters.android.autoApply = true;
    adapters.ios.autoApply = true;
    adapters.android.failNext = 2; // the platform is down for the first publishes
    t = await startTestApp({ reuse: t, worker: true, adapters });
    const rolloutId = await change('it.culture', 'culture', (rules) => [
      ...rules,
      { app: 'dropbox', action: 'block', exemptable: false },
    ]);
    const deadline = Date.now() + 40_000;
    let view = await progress(rolloutId);
    while (Date.now() < deadline && !(view.status !== 'preparing' && view.totals.converged === view.totals.devices)) {
      await new Promise((r) => setTimeout(r, 300));
      view = await progress(rolloutId);
    }
    expect(adapters.android.failNext).toBe(0);
    expect(view.totals.converged).toBe(view.totals.devices);
    const [{ retried }] = await t.db.query(
      `SELECT count(*)::int AS retried FROM pgboss.job WHERE name = 'rollout.push' AND retry_count > 0`,
    );
    expect(retried).toBeGreaterThan(0);
  });

  it('survives a crash after the commit and before any push: the restarted worker converges', async () => {
    const rolloutId = await change('it.armees', 'armees', (rules) =>
      rules.filter((r) => (r as { app: string }).app !== 'resana'),
    );
    const armees = await devices(`ministry_code = 'armees'`);
    await t.stop(); // the process dies: nothing was pushed
    expect(t.adapters.ios.pushes()).toHaveLength(0);

    const adapters = { android: new RecordingAdapter('android'), ios: new RecordingAdapter('ios') };
    adapters.android.autoApply = true;
    adapters.ios.autoApply = true;
    t = await startTestApp({ reuse: t, worker: true, adapters });
    const deadline = Date.now() + 30_000;
    let view = await progress(rolloutId);
    while (Date.now() < deadline && !(view.status !== 'preparing' && view.totals.converged === armees.length)) {
      await new Promise((r) => setTimeout(r, 300));
      view = await progress(rolloutId);
    }
    expect(view.totals).toMatchObject({ devices: armees.length, converged: armees.length });
  });
});

describe('two workers on one database', () => {
  it('never push the same job twice', async () => {
    await setup();
    const shared = t.adapters;
    const second = await startTestApp({ reuse: t, worker: true, adapters: shared });
    const first = await startTestApp({ reuse: t, worker: true, adapters: shared });
    await t.stop();
    t = first;
    const rolloutId = await change('admin.national', 'national', (rules) => [
      ...rules,
      { app: 'nordvpn', action: 'block', exemptable: false, legalBasis: 'Test' },
    ]);
    const deadline = Date.now() + 40_000;
    let view = await progress(rolloutId);
    while (Date.now() < deadline && !(view.status !== 'preparing' && view.totals.converged === view.totals.devices)) {
      await new Promise((r) => setTimeout(r, 300));
      view = await progress(rolloutId);
    }
    expect(view.totals.converged).toBe(view.totals.devices);
    const iphones = await devices(
      `platform = 'ios' AND group_id IN (SELECT group_id FROM rollout_group WHERE rollout_id = $1)`,
      [rolloutId],
    );
    expect(iphones.length).toBeGreaterThan(20);
    const target = new Set(
      (await t.db.query(`SELECT desired_hash FROM policy_group`)).map((g: { desired_hash: string }) => g.desired_hash),
    );
    const iosPushes = shared.ios.pushes().filter((p) => target.has(p.hash));
    expect(iosPushes).toHaveLength(iphones.length);
    expect(new Set(iosPushes.map((p) => p.deviceId)).size).toBe(iphones.length);
    const publishes = shared.android.publishes().filter((p) => target.has(p.hash));
    expect(new Set(publishes.map((p) => p.policyName)).size).toBe(publishes.length);
    await second.stop();
    await t.close();
  });
});
