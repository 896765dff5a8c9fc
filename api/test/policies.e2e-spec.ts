import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface Rule {
  app: string;
  action: string;
  exemptable: boolean;
  maxExemptionDays?: number;
  legalBasis?: string;
}

async function currentContent(
  login: string,
  scope: string,
): Promise<{ version: number; content: { mode: string; rules: Rule[]; description?: string } }> {
  return (await (await t.as(login)).get(`/policies/${scope}`).expect(200)).body;
}

async function writesSnapshot() {
  return {
    versions: await countRows(t.db, 'policy_version'),
    audit: await countRows(t.db, 'audit_event'),
    plans: await countRows(t.db, 'policy_plan'),
  };
}

describe('reading policies', () => {
  it('shows an agent the baseline and their own ministry only', async () => {
    const res = await (await t.as('agent.interieur')).get('/policies').expect(200);
    expect(res.body.map((p: { scope: string }) => p.scope).sort()).toEqual(['interieur', 'national']);
  });

  it('shows a national admin every scope', async () => {
    const res = await (await t.as('admin.national')).get('/policies').expect(200);
    expect(res.body.map((p: { scope: string }) => p.scope).sort()).toEqual([
      'armees',
      'culture',
      'economie',
      'interieur',
      'national',
      'spm',
    ]);
  });

  it("refuses another ministry's policy with 403, and an unknown scope with 404", async () => {
    const it = await t.as('it.interieur');
    const denied = await it.get('/policies/armees').expect(403);
    expect(denied.body.message).toContain('armees');
    await (await t.as('admin.national')).get('/policies/nowhere').expect(404);
    await it.get('/policies/armees/versions').expect(403);
  });
});

describe('plan and apply a ministry policy through the API', () => {
  it('plans a new block with platform lines and the devices affected, then applies exactly that plan', async () => {
    const it = await t.as('it.interieur');
    const before = await currentContent('it.interieur', 'interieur');
    const interieurDevices = (
      await t.db.query(`SELECT count(*)::int AS n FROM device WHERE ministry_code = 'interieur'`)
    )[0].n as number;
    // wireguard is new; discord is nationally blocked (exemptable ≤ 90 d): a non-exemptable block tightens it.
    const rules = [
      ...before.content.rules,
      { app: 'wireguard', action: 'block', exemptable: false },
      { app: 'discord', action: 'block', exemptable: false, legalBasis: 'Note HFDS' },
    ];
    const planned = await it
      .post('/policies/interieur/plan')
      .send({ ...before.content, rules, comment: 'Discord: no exemptions at Interior' })
      .expect(201);
    expect(planned.body.status).toBe('planned');
    const scope = planned.body.plan.policies[0];
    expect(scope).toMatchObject({ scope: 'interieur', fromVersion: before.version, devicesAffected: interieurDevices });
    expect(scope.changes).toContainEqual({
      sign: '+',
      platform: 'android',
      app: 'wireguard',
      identifiers: ['com.wireguard.android'],
      detail: 'blocked, not exemptable',
    });
    expect(scope.changes).toContainEqual({
      sign: '+',
      platform: 'ios',
      app: 'wireguard',
      identifiers: ['com.wireguard.ios'],
      detail: 'blocked, not exemptable',
    });
    expect(planned.body.text).toContain('~ discord [com.discord] blocked, exemptable ≤ 90 d → blocked, not exemptable');
    expect(planned.body.text).toContain(
      `Plan: 2 to block or require, 0 to lift, 2 to change in 1 scope(s); ${interieurDevices} of`,
    );

    // Nothing is written by a plan but the plan itself.
    expect((await currentContent('it.interieur', 'interieur')).version).toBe(before.version);

    const applied = await it.post(`/policy-plans/${planned.body.id}/apply`).expect(200);
    expect(applied.body.applied).toEqual([
      { scope: 'interieur', version: before.version + 1, rolloutId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    ]);
    const after = await currentContent('it.interieur', 'interieur');
    expect(after.version).toBe(before.version + 1);
    expect(after.content.rules.find((r) => r.app === 'discord')).toMatchObject({ exemptable: false });

    const [event] = await t.db.query(
      `SELECT action, actor, ministry_code, after->>'comment' AS comment FROM audit_event ORDER BY seq DESC LIMIT 1`,
    );
    expect(event).toEqual({
      action: 'policy.version-created',
      actor: 'Julien Robert <julien.robert@interieur.gouv.fr>',
      ministry_code: 'interieur',
      comment: 'Discord: no exemptions at Interior',
    });

    const again = await it.post(`/policy-plans/${planned.body.id}/apply`).expect(409);
    expect(again.body.code).toBe('policy.plan-already-applied');
  });

  it('refuses a stale plan: the policy changed after the plan was made', async () => {
    const it = await t.as('it.economie');
    const base = await currentContent('it.economie', 'economie');
    const planA = await it
      .post('/policies/economie/plan')
      .send({
        ...base.content,
        rules: [...base.content.rules, { app: 'wetransfer', action: 'block', exemptable: false }],
      })
      .expect(201);
    const planB = await it
      .post('/policies/economie/plan')
      .send({ ...base.content, rules: [...base.content.rules, { app: 'chatgpt', action: 'block', exemptable: false }] })
      .expect(201);
    await it.post(`/policy-plans/${planB.body.id}/apply`).expect(200);
    const before = await writesSnapshot();
    const stale = await it.post(`/policy-plans/${planA.body.id}/apply`).expect(409);
    expect(stale.body.code).toBe('policy.stale-plan');
    expect(stale.body.message).toContain('Make a new plan');
    expect(await writesSnapshot()).toEqual(before);
  });

  it("refuses an it-admin planning or applying another ministry's policy", async () => {
    const armees = await currentContent('it.armees', 'armees');
    const before = await writesSnapshot();
    await (await t.as('it.interieur')).post('/policies/armees/plan').send(armees.content).expect(403);
    const plan = await (
      await t.as('it.armees')
    )
      .post('/policies/armees/plan')
      .send({ ...armees.content, rules: armees.content.rules.filter((r) => r.app !== 'resana') })
      .expect(201);
    const denied = await (await t.as('it.interieur')).post(`/policy-plans/${plan.body.id}/apply`).expect(403);
    expect(denied.body.code).toBe('auth.forbidden');
    await (await t.as('approver.armees')).post(`/policy-plans/${plan.body.id}/apply`).expect(403);
    await (await t.as('agent.armees')).post('/policies/armees/plan').send(armees.content).expect(403);
    expect((await writesSnapshot()).versions).toBe(before.versions);
  });

  it('rejects a rule that allows what the baseline blocks, naming both rules, and writes nothing', async () => {
    const armees = await currentContent('it.armees', 'armees');
    const before = await writesSnapshot();
    const res = await (
      await t.as('it.armees')
    )
      .post('/policies/armees/plan')
      .send({
        ...armees.content,
        rules: [...armees.content.rules, { app: 'tiktok', action: 'allow', exemptable: false }],
      })
      .expect(409);
    expect(res.body.code).toBe('policy.conflicting-rule');
    expect(res.body.message).toMatch(
      /ministry "armees" rule #\d+ \(allow "tiktok".*\) conflicts with national rule #\d+ \(block "tiktok"/,
    );
    expect(await writesSnapshot()).toEqual(before);
  });

  it.each([
    [
      'an unknown app',
      { mode: 'blocklist', rules: [{ app: 'tiktokk', action: 'block', exemptable: false }] },
      'unknown app "tiktokk"',
    ],
    [
      'a wrong action',
      { mode: 'blocklist', rules: [{ app: 'tiktok', action: 'forbid', exemptable: false }] },
      '/rules/0/action must be one of block, allow, require',
    ],
    [
      'a missing maxExemptionDays',
      { mode: 'blocklist', rules: [{ app: 'dropbox', action: 'block', exemptable: true }] },
      'missing required field "maxExemptionDays"',
    ],
    ['an unknown field', { mode: 'blocklist', rules: [], owner: 'me' }, 'unknown field "owner"'],
    ['a wrong mode', { mode: 'denylist', rules: [] }, '/mode must be one of blocklist, allowlist'],
    ['an array body', [], 'must be a JSON object'],
  ])('answers 400 for %s, with nothing written', async (_name, body, message) => {
    const before = await writesSnapshot();
    const res = await (await t.as('it.culture')).post('/policies/culture/plan').send(body).expect(400);
    expect(res.body.message).toContain(message);
    expect(await writesSnapshot()).toEqual(before);
  });

  it('answers 400 for malformed JSON and 413 for an oversized body', async () => {
    const it = await t.as('it.culture');
    const malformed = await it
      .post('/policies/culture/plan')
      .set('Content-Type', 'application/json')
      .send('{"mode": "blocklist", "rules": [')
      .expect(400);
    expect(malformed.body.code).toBe('request.malformed-json');
    const huge = { mode: 'blocklist', rules: [], description: 'x'.repeat(300_000) };
    const res = await it.post('/policies/culture/plan').send(huge).expect(413);
    expect(res.body.message).toContain('too large');
  });
});

describe('the national baseline', () => {
  it('is changed by national admins only, and a change that breaks a ministry policy is refused', async () => {
    const national = await currentContent('admin.national', 'national');
    await (await t.as('it.interieur')).post('/policies/national/plan').send(national.content).expect(403);
    // Armées allows Outlook; blocking it nationally would contradict the Armées allowlist.
    const res = await (
      await t.as('admin.national')
    )
      .post('/policies/national/plan')
      .send({
        ...national.content,
        rules: [
          ...national.content.rules,
          { app: 'microsoft-outlook', action: 'block', exemptable: false, legalBasis: 'Test' },
        ],
      })
      .expect(409);
    expect(res.body.message).toContain('ministry "armees"');
  });

  it('requires a legal basis on national rules', async () => {
    const national = await currentContent('admin.national', 'national');
    const res = await (
      await t.as('admin.national')
    )
      .post('/policies/national/plan')
      .send({
        ...national.content,
        rules: [...national.content.rules, { app: 'dropbox', action: 'block', exemptable: false }],
      })
      .expect(400);
    expect(res.body.message).toContain('missing required field "legalBasis"');
  });
});

describe('versions, diff and rollback', () => {
  it('lists versions, diffs two of them and rolls back by writing a new version with the old content', async () => {
    const it = await t.as('it.culture');
    const v1 = await currentContent('it.culture', 'culture');
    const plan = await it
      .post('/policies/culture/plan')
      .send({ ...v1.content, rules: [...v1.content.rules, { app: 'dropbox', action: 'block', exemptable: false }] })
      .expect(201);
    await it.post(`/policy-plans/${plan.body.id}/apply`).expect(200);
    const v2 = v1.version + 1;

    const versions = await it.get('/policies/culture/versions').expect(200);
    expect(versions.body.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual([
      [v2, true],
      [v1.version, false],
    ]);
    const diff = await it.get(`/policies/culture/diff?from=${v1.version}&to=${v2}`).expect(200);
    expect(diff.body.added).toEqual([{ app: 'dropbox', action: 'block', exemptable: false }]);
    expect(diff.body.removed).toEqual([]);
    await it.get('/policies/culture/diff?from=abc&to=2').expect(400);
    await it.get(`/policies/culture/diff?from=${v1.version}&to=99`).expect(404);

    // A rollback is planned first (nothing changes), then applied like any plan.
    const planned = await it.post('/policies/culture/rollback').send({ version: v1.version }).expect(201);
    expect(planned.body.plan).toMatchObject({ rolledBackFrom: v1.version, scopes: ['culture'] });
    expect(planned.body.plan.policies[0].content).toEqual(v1.content);
    expect((await it.get('/policies/culture').expect(200)).body.version).toBe(v2);
    await it.post(`/policy-plans/${planned.body.id}/apply`).expect(200);
    const rolled = await it.get('/policies/culture').expect(200);
    expect(rolled.body).toMatchObject({ version: v2 + 1, rolledBackFrom: v1.version, current: true });
    expect(rolled.body.content).toEqual(v1.content);
    const [event] = await t.db.query(`SELECT action FROM audit_event ORDER BY seq DESC LIMIT 1`);
    expect(event.action).toBe('policy.rolled-back');

    const again = await it
      .post('/policies/culture/rollback')
      .send({ version: v2 + 1 })
      .expect(409);
    expect(again.body.code).toBe('policy.already-current');
    await it.post('/policies/culture/rollback').send({ version: 'one' }).expect(400);
    await (await t.as('it.interieur')).post('/policies/culture/rollback').send({ version: v1.version }).expect(403);
  });
});

describe('policy content as YAML, the policy-as-code format', () => {
  it('plans from a YAML body, and reports malformed YAML with its line, writing nothing', async () => {
    const it = await t.as('it.culture');
    const yaml =
      'mode: blocklist\ncomment: via YAML\nrules:\n  - app: nordvpn\n    action: block\n    exemptable: false\n';
    const planned = await it
      .post('/policies/culture/plan')
      .set('Content-Type', 'application/yaml')
      .send(yaml)
      .expect(201);
    expect(planned.body.plan.comment).toBe('via YAML');
    expect(planned.body.text).toContain('+ nordvpn [com.nordvpn.android] blocked, not exemptable');
    const fetched = await it.get(`/policy-plans/${planned.body.id}`).expect(200);
    expect(fetched.body).toMatchObject({ id: planned.body.id, status: 'planned', text: planned.body.text });
    await (await t.as('it.interieur')).get(`/policy-plans/${planned.body.id}`).expect(403);
    await it.get('/policy-plans/00000000-0000-0000-0000-000000000000').expect(404);

    const before = await writesSnapshot();
    const broken = await it
      .post('/policies/culture/plan')
      .set('Content-Type', 'application/yaml')
      .send('mode: blocklist\nrules:\n  - app: [nordvpn\n')
      .expect(400);
    expect(broken.body.code).toBe('policy.invalid-yaml');
    expect(broken.body.message).toMatch(/line \d+: YAML syntax error/);
    const unknown = await it
      .post('/policies/culture/plan')
      .set('Content-Type', 'application/yaml')
      .send('mode: blocklist\nrules:\n  - app: nordvpnn\n    action: block\n    exemptable: false\n')
      .expect(400);
    expect(unknown.body.message).toContain('unknown app "nordvpnn"');
    expect(await writesSnapshot()).toEqual(before);
  });

  it('serves one version with its content', async () => {
    const res = await (await t.as('agent.culture')).get('/policies/national/versions/1').expect(200);
    expect(res.body).toMatchObject({ scope: 'national', version: 1, mode: 'blocklist' });
    expect(res.body.content.rules.length).toBeGreaterThan(40);
    await (await t.as('agent.culture')).get('/policies/national/versions/999').expect(404);
    await (await t.as('agent.culture')).get('/policies/national/versions/abc').expect(400);
    const ministries = await (await t.as('agent.culture')).get('/ministries').expect(200);
    expect(ministries.body.map((m: { code: string }) => m.code)).toEqual([
      'armees',
      'culture',
      'economie',
      'interieur',
      'spm',
    ]);
  });
});
