/**
 * Accounts and API access: separation of duties on roles, deactivation that takes effect at once,
 * and the service's own API tokens (personal and service) for scripts and pipelines.
 */
import request from 'supertest';
import { stringify } from 'yaml';
import { HttpBrowser } from './support/http-browser';
import { SESSION_TEST_PORT } from './support/ports';
import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
const base = `http://127.0.0.1:${SESSION_TEST_PORT}`;

beforeAll(async () => {
  t = await startTestApp({ listen: true, port: SESSION_TEST_PORT, browserLogin: { publicUrl: base } });
});
afterAll(() => t.close());

const server = () => t.app.getHttpServer();
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function idOf(login: string): Promise<string> {
  return ((await (await t.as(login)).get('/me').expect(200)).body as { id: string }).id;
}

async function lastAudit(): Promise<{ action: string; actor: string; entity_id: string; after: unknown }> {
  const [event] = await t.db.query(`SELECT action, actor, entity_id, after FROM audit_event ORDER BY seq DESC LIMIT 1`);
  return event;
}

async function createToken(
  login: string,
  body: { kind: string; name: string; role: string; ministry?: string; expiresInDays: number },
): Promise<request.Response> {
  return (await t.as(login)).post('/api-tokens').send(body);
}

describe('roles: nobody grants a role to themselves', () => {
  it('refuses a national admin who makes herself approver, and writes nothing', async () => {
    const audit = await countRows(t.db, 'audit_event');
    const admin = await idOf('admin.national');
    const res = await (
      await t.as('admin.national')
    )
      .post(`/agents/${admin}/roles`)
      .send({ role: 'approver', ministry: 'interieur' })
      .expect(403);
    expect(res.body).toMatchObject({ code: 'auth.self-grant', message: expect.stringContaining('themselves') });
    expect(await countRows(t.db, 'audit_event')).toBe(audit);
    expect(await countRows(t.db, `role_assignment WHERE agent_id = '${admin}' AND role = 'approver'`)).toBe(0);
  });

  it('audits and notifies every grant and removal made for someone else', async () => {
    const agent = await idOf('presse.interieur');
    const national = await t.as('admin.national');
    const granted = await national.post(`/agents/${agent}/roles`).send({ role: 'approver', ministry: 'interieur' });
    expect(granted.status).toBe(201);
    expect(await lastAudit()).toMatchObject({ action: 'role.granted', entity_id: agent });
    const assignment = (granted.body as { roles: { id: string; role: string }[] }).roles.find(
      (r) => r.role === 'approver',
    );
    await national.delete(`/agents/${agent}/roles/${assignment?.id}`).expect(200);
    expect(await lastAudit()).toMatchObject({ action: 'role.revoked', entity_id: agent });
    const titles = (await (await t.as('presse.interieur')).get('/me/notifications').expect(200)).body.map(
      (n: { title: string }) => n.title,
    );
    expect(titles).toEqual(
      expect.arrayContaining(['Nouveau rôle : valideur des dérogations', 'Rôle retiré : valideur des dérogations']),
    );
  });

  it('removing the agent role takes the right to ask for exemptions, until it is granted again', async () => {
    const agent = await idOf('agent.economie');
    const national = await t.as('admin.national');
    const roles = (await national.get(`/agents/${agent}`).expect(200)).body as {
      roles: { id: string; role: string }[];
    };
    const agentRole = roles.roles.find((r) => r.role === 'agent');
    expect(agentRole).toBeDefined();
    await national.delete(`/agents/${agent}/roles/${agentRole?.id}`).expect(200);

    const requests = await countRows(t.db, 'exemption');
    const ask = { app: 'tiktok', justification: 'Compte officiel du ministère, communication de crise.', days: 30 };
    const refused = await (await t.as('agent.economie')).post('/exemptions').send(ask).expect(403);
    expect(refused.body.message).toMatch(/ask for an exemption/);
    expect(await countRows(t.db, 'exemption')).toBe(requests);
    // Still signed in: the rest of the account (profile, own phones) is untouched.
    await (await t.as('agent.economie')).get('/me').expect(200);

    await national.post(`/agents/${agent}/roles`).send({ role: 'agent', ministry: 'economie' }).expect(201);
    await (await t.as('agent.economie')).post('/exemptions').send(ask).expect(201);
  });
});

describe('deactivation: an agent who leaves is refused at once', () => {
  it('refuses the next request of every kind (bearer JWT, session, personal API token), and can be undone', async () => {
    const browser = new HttpBrowser();
    const picker = await browser.go(`${base}/auth/login?returnTo=/me`);
    expect((await browser.submit(picker, { login: 'agent.economie' })).status).toBe(200);
    const pat = (
      await createToken('agent.economie', {
        kind: 'personal',
        name: 'Mon script',
        role: 'agent',
        ministry: 'economie',
        expiresInDays: 7,
      })
    ).body as { id: string; token: string };
    const jwt = await t.token('agent.economie');
    for (const auth of [bearer(jwt), bearer(pat.token)]) await request(server()).get('/me').set(auth).expect(200);

    const agent = await idOf('agent.economie');
    const national = await t.as('admin.national');
    await national.post(`/agents/${agent}/deactivate`).send({ reason: 'Départ du ministère le 31 mars' }).expect(200);
    expect(await lastAudit()).toMatchObject({
      action: 'agent.deactivated',
      entity_id: agent,
      after: { reason: 'Départ du ministère le 31 mars', sessionsEnded: 1, apiTokensRevoked: 1 },
    });

    const refused = await request(server()).get('/me').set(bearer(jwt)).expect(403);
    expect(refused.body.code).toBe('auth.account-deactivated');
    expect((await request(server()).get('/me').set(bearer(pat.token)).expect(401)).body.code).toBe(
      'auth.invalid-token',
    );
    expect((await browser.go(`${base}/me`)).status).toBe(401);
    // Nor can they sign in again.
    const again = await browser.go(`${base}/auth/login?returnTo=/me`);
    expect(again.status).toBe(403);

    await national.post(`/agents/${agent}/reactivate`).expect(200);
    expect(await lastAudit()).toMatchObject({ action: 'agent.reactivated', entity_id: agent });
    await request(server()).get('/me').set(bearer(jwt)).expect(200);
    // What was revoked stays revoked.
    await request(server()).get('/me').set(bearer(pat.token)).expect(401);
  });

  it('is for national admins, never about themselves', async () => {
    const agent = await idOf('agent.armees');
    await (await t.as('it.armees')).post(`/agents/${agent}/deactivate`).send({ reason: 'Départ' }).expect(403);
    const admin = await idOf('admin.national');
    const self = await (
      await t.as('admin.national')
    )
      .post(`/agents/${admin}/deactivate`)
      .send({ reason: 'Départ' })
      .expect(403);
    expect(self.body.code).toBe('auth.self-deactivation');
  });
});

describe('API tokens for scripts and pipelines', () => {
  it('lets a pipeline plan and apply a policy with a service token, audited under the token’s name', async () => {
    const created = await createToken('it.interieur', {
      kind: 'service',
      name: 'CI politiques Intérieur',
      role: 'it-admin',
      ministry: 'interieur',
      expiresInDays: 90,
    });
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    expect(token).toMatch(/^mdm_svc_/);
    expect(await lastAudit()).toMatchObject({ action: 'api-token.created', entity_id: id });
    // Only its hash is at rest.
    const [row] = await t.db.query(`SELECT token_hash FROM api_token WHERE id = $1`, [id]);
    expect(row.token_hash).not.toContain(token.slice(8));

    // What the pipeline runs (curl in a CI job): read, plan, apply.
    const pipeline = (method: 'get' | 'post', path: string) => request(server())[method](path).set(bearer(token));
    const current = (await pipeline('get', '/policies/interieur').expect(200)).body as {
      content: { rules: object[] };
    };
    const plan = await pipeline('post', '/policies/interieur/plan')
      .set('Content-Type', 'application/yaml')
      .send(
        stringify({
          ...current.content,
          rules: [...current.content.rules, { app: 'discord', action: 'block', exemptable: false }],
          comment: 'Discord bloqué (pipeline)',
        }),
      )
      .expect(201);
    const applied = await pipeline('post', `/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    expect(applied.body.applied).toHaveLength(1);
    const [event] = await t.db.query(
      `SELECT actor FROM audit_event WHERE action LIKE 'policy.%' ORDER BY seq DESC LIMIT 1`,
    );
    expect(event.actor).toContain('CI politiques Intérieur');

    // Its scope is its one role in its one ministry, and it manages nobody.
    await pipeline('get', '/policies/armees').expect(403);
    await pipeline('get', '/ministries/interieur/exemptions').expect(403);
    const agent = await idOf('agent.interieur');
    expect(
      (
        await pipeline('post', '/api-tokens')
          .send({ kind: 'personal', name: 'escalade', role: 'it-admin', ministry: 'interieur', expiresInDays: 1 })
          .expect(403)
      ).body.code,
    ).toBe('auth.person-required');
    expect((await pipeline('post', `/agents/${agent}/deactivate`).send({ reason: 'xxx' })).status).toBe(403);

    // Revoked: refused at once.
    await (await t.as('it.interieur')).delete(`/api-tokens/${id}`).expect(200);
    expect(await lastAudit()).toMatchObject({ action: 'api-token.revoked', entity_id: id });
    await pipeline('get', '/policies/interieur').expect(401);
  });

  it('never gives more than the creator holds, and expires', async () => {
    const tooMuch = await createToken('agent.interieur', {
      kind: 'personal',
      name: 'Escalade',
      role: 'it-admin',
      ministry: 'interieur',
      expiresInDays: 30,
    });
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body.code).toBe('auth.token-scope');
    const approverPipeline = await createToken('approver.interieur', {
      kind: 'service',
      name: 'Robot valideur',
      role: 'approver',
      ministry: 'interieur',
      expiresInDays: 30,
    });
    expect(approverPipeline.status).toBe(403);
    const otherMinistry = await createToken('it.interieur', {
      kind: 'service',
      name: 'CI Armées',
      role: 'it-admin',
      ministry: 'armees',
      expiresInDays: 30,
    });
    expect(otherMinistry.status).toBe(403);
    // A national admin hands a ministry's IT role to a pipeline (not to herself).
    const national = await createToken('admin.national', {
      kind: 'service',
      name: 'Supervision Culture',
      role: 'it-admin',
      ministry: 'culture',
      expiresInDays: 30,
    });
    expect(national.status).toBe(201);
    await request(server()).get('/ministries/culture/rollout-status').set(bearer(national.body.token)).expect(200);
    await t.db.query(`UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, [national.body.id]);
    await request(server()).get('/ministries/culture/rollout-status').set(bearer(national.body.token)).expect(401);
  });

  it('keeps a personal token within its role, and refuses role management to it', async () => {
    const pat = await createToken('admin.national', {
      kind: 'personal',
      name: 'Admin script',
      role: 'national-admin',
      expiresInDays: 1,
    });
    expect(pat.status).toBe(201);
    const agent = await idOf('agent.culture');
    const grant = await request(server())
      .post(`/agents/${agent}/roles`)
      .set(bearer(pat.body.token))
      .send({ role: 'approver', ministry: 'culture' })
      .expect(403);
    expect(grant.body.code).toBe('auth.person-required');
    // Within national-admin only: her agent role in spm is not part of it.
    const own = await createToken('it.interieur', {
      kind: 'personal',
      name: 'Lecture',
      role: 'agent',
      ministry: 'interieur',
      expiresInDays: 1,
    });
    await request(server()).get('/ministries/interieur/devices').set(bearer(own.body.token)).expect(403);
    await request(server()).get('/me/devices').set(bearer(own.body.token)).expect(200);
    // Garbage and unknown tokens are refused alike.
    await request(server()).get('/me').set(bearer('mdm_svc_nope')).expect(401);
    await request(server())
      .get('/me')
      .set(bearer(`mdm_pat_${'A'.repeat(43)}`))
      .expect(401);
    // Someone else's token is not revealed to exist.
    await (await t.as('agent.interieur')).delete(`/api-tokens/${own.body.id}`).expect(404);
  });
});
