import { PolicyPlanService } from '../src/policies/policy-plan.service';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { drainRolloutJobs } from './support/drain-jobs';
import { startTestApp, TestApp } from './support/test-app';

let t: TestApp;

beforeEach(async () => {
  t = await startTestApp();
  t.adapters.android.autoApply = true;
  t.adapters.ios.autoApply = true;
  await drainRolloutJobs(t);
  t.adapters.android.reset();
  t.adapters.ios.reset();
});
afterEach(() => t.close());

interface Rollout {
  id: string;
  status: string;
  stageIndex: number;
  supersededBy: string | null;
  finishedAt: string | null;
  progress: { released: boolean }[];
}

async function rollout(id: string): Promise<Rollout> {
  return (await (await t.as('it.interieur')).get(`/rollouts/${id}`).expect(200)).body;
}

/** A staged change of the interieur policy (block nextcloud), applied and released to its first stage. */
async function stagedChange(): Promise<{ version: number; rolloutId: string; devicesAffected: number }> {
  const it = await t.as('it.interieur');
  const current = (await it.get('/policies/interieur').expect(200)).body;
  const plan = await it
    .post('/policies/interieur/plan')
    .send({
      ...current.content,
      rules: [...current.content.rules, { app: 'nextcloud', action: 'block', exemptable: false }],
    })
    .expect(201);
  const applied = await it
    .post(`/policy-plans/${plan.body.id}/apply`)
    .send({ stages: [10, 100], stageWaitMinutes: 60 })
    .expect(200);
  await drainRolloutJobs(t);
  const rolloutId = applied.body.applied[0].rolloutId as string;
  expect(await rollout(rolloutId)).toMatchObject({ status: 'running', stageIndex: 0 });
  return { version: current.version, rolloutId, devicesAffected: plan.body.plan.policies[0].devicesAffected };
}

async function stuck(): Promise<{ id: string; status: string }[]> {
  return t.db.query(
    `SELECT id, status FROM rollout WHERE status IN ('preparing', 'running', 'paused') ORDER BY created_at`,
  );
}

describe('rollback during a staged rollout', () => {
  it('is planned with its device impact, applied in stages, and supersedes the running rollout (none left running)', async () => {
    const before = await stagedChange();
    const it = await t.as('it.interieur');

    // Step 1: the rollback is a plan to review. Nothing changes yet.
    const planned = await it.post('/policies/interieur/rollback').send({ version: before.version }).expect(201);
    expect(planned.body.status).toBe('planned');
    expect(planned.body.plan).toMatchObject({ scopes: ['interieur'], rolledBackFrom: before.version });
    const scope = planned.body.plan.policies[0];
    expect(scope.changes.length).toBeGreaterThan(0);
    expect(scope.changes.every((c: { sign: string; app: string }) => c.sign === '-' && c.app === 'nextcloud')).toBe(
      true,
    );
    expect(scope.devicesAffected).toBe(before.devicesAffected);
    expect(scope.devicesAffected).toBeGreaterThan(0);
    expect(planned.body.text).toContain('nextcloud');
    expect((await it.get('/policies/interieur').expect(200)).body.version).toBe(before.version + 1);
    expect((await rollout(before.rolloutId)).status).toBe('running');

    // Step 2: IT applies it in stages, like any change.
    const applied = await it
      .post(`/policy-plans/${planned.body.id}/apply`)
      .send({ stages: [50, 100], stageWaitMinutes: 30 })
      .expect(200);
    const rollbackId = applied.body.applied[0].rolloutId as string;
    const current = (await it.get('/policies/interieur').expect(200)).body;
    expect(current).toMatchObject({ version: before.version + 2, rolledBackFrom: before.version });

    // The interrupted rollout ends as superseded, naming its successor, audited.
    const old = await rollout(before.rolloutId);
    expect(old).toMatchObject({ status: 'superseded', supersededBy: rollbackId });
    expect(old.finishedAt).not.toBeNull();
    const audit = await t.db.query(`SELECT action, after FROM audit_event WHERE entity_id = $1 ORDER BY seq`, [
      before.rolloutId,
    ]);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['rollout.started', 'rollout.superseded']);
    expect(audit[1].after).toMatchObject({ status: 'superseded', supersededBy: rollbackId });
    const active = (await it.get('/rollouts?active=true').expect(200)).body.map((r: Rollout) => r.id);
    expect(active).toEqual([rollbackId]);
    // A superseded rollout cannot be driven any more.
    const resume = await it.post(`/rollouts/${before.rolloutId}/advance`).expect(409);
    expect(resume.body.message).toContain('superseded');

    // The rollback goes out in its stages: half first, then the rest.
    await drainRolloutJobs(t);
    let back = await rollout(rollbackId);
    expect(back.status).toBe('running');
    expect(back.progress.map((s) => s.released)).toEqual([true, false]);
    const engine = t.app.get(RolloutEngine);
    await engine.advanceStages(new Date(Date.now() + 31 * 60_000));
    await drainRolloutJobs(t);
    expect((await rollout(rollbackId)).stageIndex).toBe(1);
    await engine.advanceStages(new Date(Date.now() + 31 * 60_000));
    back = await rollout(rollbackId);
    expect(back.status).toBe('completed');
    expect(await stuck()).toEqual([]);
  });

  it('a new change supersedes a paused rollout too; rollback is refused to other ministries, writing nothing', async () => {
    const before = await stagedChange();
    const it = await t.as('it.interieur');
    await it.post(`/rollouts/${before.rolloutId}/pause`).send({ reason: 'Vérification' }).expect(200);

    const plans = async () => (await t.db.query(`SELECT count(*)::int AS n FROM policy_plan`))[0].n as number;
    const n = await plans();
    const denied = await (
      await t.as('it.culture')
    )
      .post('/policies/interieur/rollback')
      .send({ version: before.version })
      .expect(403);
    expect(denied.body.message).toBeTruthy();
    const unknown = await it.post('/policies/interieur/rollback').send({ version: 999 }).expect(404);
    expect(unknown.body.message).toContain('has no version 999');
    expect(await plans()).toBe(n);

    // A plan file (CLI) edited to claim another version is refused, not recorded as a rollback.
    const rollbackPlan = (await it.post('/policies/interieur/rollback').send({ version: before.version }).expect(201))
      .body;
    const edited = { ...rollbackPlan.plan, rolledBackFrom: before.version + 1 };
    await expect(t.app.get(PolicyPlanService).apply({ id: null, label: 'cli' }, edited)).rejects.toMatchObject({
      code: 'invalid-plan',
    });
    expect((await it.get('/policies/interieur').expect(200)).body.version).toBe(before.version + 1);

    const current = (await it.get('/policies/interieur').expect(200)).body;
    // Another change (not a rollback): nextcloud is allowed again, written by hand.
    const plan = await it
      .post('/policies/interieur/plan')
      .send({ ...current.content, rules: current.content.rules.filter((r: { app: string }) => r.app !== 'nextcloud') })
      .expect(201);
    const applied = await it.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    const next = applied.body.applied[0].rolloutId as string;
    expect(await rollout(before.rolloutId)).toMatchObject({ status: 'superseded', supersededBy: next });
    await drainRolloutJobs(t);
    await t.app.get(RolloutEngine).advanceStages();
    expect((await rollout(next)).status).toBe('completed');
    expect(await stuck()).toEqual([]);
  });
});
