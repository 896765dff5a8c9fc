import { generateKeyPair, importJWK, SignJWT } from 'jose';
import request from 'supertest';
import { countRows, devIdpPrivateJwk, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function forge(
  claims: Record<string, unknown>,
  opts: {
    issuer?: string;
    audience?: string;
    expiresIn?: string | number;
    key?: Parameters<SignJWT['sign']>[0];
    kid?: string;
    alg?: string;
    notBefore?: number;
  } = {},
): Promise<string> {
  const jwk = devIdpPrivateJwk();
  const key = opts.key ?? (await importJWK(jwk, 'RS256'));
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? jwk.kid, typ: 'at+jwt' })
    .setIssuer(opts.issuer ?? t.issuer)
    .setAudience(opts.audience ?? 'mdm-apps-api')
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '10m');
  return (opts.notBefore === undefined ? jwt : jwt.setNotBefore(opts.notBefore)).sign(key);
}

const camille = {
  sub: 'demo-agent-interieur',
  email: 'camille.martin@interieur.gouv.fr',
  given_name: 'Camille',
  usual_name: 'Martin',
};

describe('authentication', () => {
  it('answers health, metrics and the API docs without a token', async () => {
    const server = t.app.getHttpServer();
    const health = await request(server).get('/health').expect(200);
    expect(health.body.info.database.status).toBe('up');
    expect((await request(server).get('/metrics').expect(200)).text).toContain('http_request_duration_seconds');
    expect(
      (await request(server).get('/api/docs-json').expect(200)).body.paths['/policies/{scope}/plan'],
    ).toBeDefined();
  });

  it('signs in a demo user through the real OIDC code flow and knows their ministry and roles', async () => {
    const res = await (await t.as('it.interieur')).get('/me').expect(200);
    expect(res.body).toMatchObject({
      email: 'julien.robert@interieur.gouv.fr',
      displayName: 'Julien Robert',
      ministry: 'interieur',
    });
    expect(res.body.roles.map((r: { role: string }) => r.role).sort()).toEqual(['agent', 'it-admin']);
  });

  it('says plainly that browser sign-in is off when the server has no OIDC client, with a 404 rather than an error', async () => {
    const res = await request(t.app.getHttpServer()).get('/auth/login').expect(404);
    expect(res.body).toMatchObject({
      code: 'auth.login-not-configured',
      message: expect.stringContaining('use a bearer token'),
    });
  });

  it('refuses a request without a token, or with a malformed header', async () => {
    const server = t.app.getHttpServer();
    const none = await request(server).get('/policies').expect(401);
    expect(none.body).toMatchObject({ code: 'auth.missing-token' });
    const basic = await request(server).get('/policies').set('Authorization', 'Basic abc').expect(401);
    expect(basic.body.message).toContain('Bearer');
  });

  it.each([
    ['expired', () => forge(camille, { expiresIn: Math.floor(Date.now() / 1000) - 3600 }), 'expired'],
    [
      'from another issuer',
      () => forge(camille, { issuer: 'https://evil.example' }),
      'identity provider this service does not trust',
    ],
    ['for another audience', () => forge(camille, { audience: 'another-api' }), 'another audience'],
    [
      'signed with another key',
      async () => forge(camille, { key: (await generateKeyPair('RS256')).privateKey }),
      'signature is invalid',
    ],
    [
      'unsigned (alg none)',
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...camille, iss: t.issuer, aud: 'mdm-apps-api', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      },
      'refused',
    ],
    ['garbage', async () => 'not.a.jwt', 'not a well-formed signed JWT'],
    [
      // Algorithm confusion: an HMAC "signed" with the provider's public key material.
      'signed with HS256',
      async () => forge(camille, { alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(devIdpPrivateJwk().n)) }),
      'signature algorithm is not accepted',
    ],
    [
      'signed with a key id the provider does not publish',
      async () => forge(camille, { kid: 'unknown-key', key: (await generateKeyPair('RS256')).privateKey }),
      'key the identity provider does not publish',
    ],
    ['not valid yet', () => forge(camille, { notBefore: Math.floor(Date.now() / 1000) + 3600 }), '"nbf" claim'],
    [
      'without a subject',
      () => forge({ email: camille.email, given_name: camille.given_name, usual_name: camille.usual_name }),
      '"sub" claim',
    ],
    ['with an empty subject', () => forge({ ...camille, sub: '' }), 'no subject'],
    ['with a blank subject', () => forge({ ...camille, sub: '   ' }), 'no subject'],
    ['with a NUL in its subject', () => forge({ ...camille, sub: 'demo-agent-interieur\u0000' }), 'malformed'],
    ['with a NUL in a name', () => forge({ ...camille, sub: 'someone-new', given_name: 'A\u0000' }), 'malformed'],
  ])('refuses a token %s with 401 and a clear message', async (_name, make, message) => {
    const res = await request(t.app.getHttpServer())
      .get('/me')
      .set('Authorization', `Bearer ${await make()}`)
      .expect(401);
    expect(res.body.code).toBe('auth.invalid-token');
    expect(res.body.message).toContain(message);
  });

  it('accepts a correctly signed token (the forging helper itself is sound)', async () => {
    await request(t.app.getHttpServer())
      .get('/me')
      .set('Authorization', `Bearer ${await forge(camille)}`)
      .expect(200);
  });

  it('provisions an agent on first sign-in from their email domain, with the agent role only, audited', async () => {
    const before = await countRows(t.db, 'audit_event');
    const res = await (await t.as('nouveau.culture')).get('/me').expect(200);
    expect(res.body).toMatchObject({ email: 'louis.mercier@culture.gouv.fr', ministry: 'culture' });
    expect(res.body.roles).toEqual([expect.objectContaining({ role: 'agent', ministry: 'culture' })]);
    const [event] = await t.db.query(`SELECT action, ministry_code FROM audit_event ORDER BY seq DESC LIMIT 1`);
    expect(event).toEqual({ action: 'agent.provisioned', ministry_code: 'culture' });
    expect(await countRows(t.db, 'audit_event')).toBe(before + 1);
  });

  it('refuses an unknown user whose token carries no email, and writes nothing', async () => {
    const before = { agents: await countRows(t.db, 'agent'), audit: await countRows(t.db, 'audit_event') };
    const token = await forge({ sub: 'stranger-without-email', given_name: 'No', usual_name: 'Mail' });
    const res = await request(t.app.getHttpServer())
      .get('/policies')
      .set('Authorization', `Bearer ${token}`)
      .expect(403);
    expect(res.body.code).toBe('auth.unknown-organisation');
    expect(res.body.message).toContain('no email');
    expect({ agents: await countRows(t.db, 'agent'), audit: await countRows(t.db, 'audit_event') }).toEqual(before);
  });

  it("gives an unknown subject that claims an approver's email, unverified, none of the approver's rights", async () => {
    const approver = (await (await t.as('approver.interieur')).get('/me').expect(200)).body as {
      id: string;
      email: string;
    };
    const token = await forge({
      sub: 'someone-else',
      email: approver.email,
      given_name: 'Nadia',
      usual_name: 'Benali',
    });
    const server = t.app.getHttpServer();
    const me = await request(server).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(me.body.id).not.toBe(approver.id);
    expect(me.body.roles.map((r: { role: string; ministry: string }) => `${r.role}@${r.ministry}`)).toEqual([
      'agent@interieur',
    ]);
    await request(server).get('/ministries/interieur/exemptions').set('Authorization', `Bearer ${token}`).expect(403);
  });

  it('refuses an identity whose email the provider says is not verified, and writes nothing', async () => {
    const before = { agents: await countRows(t.db, 'agent'), audit: await countRows(t.db, 'audit_event') };
    const token = await forge({
      sub: 'unverified-1',
      email: 'unverified@culture.gouv.fr',
      email_verified: false,
      given_name: 'Un',
      usual_name: 'Verified',
    });
    const res = await request(t.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(403);
    expect(res.body.code).toBe('auth.unverified-email');
    expect({ agents: await countRows(t.db, 'agent'), audit: await countRows(t.db, 'audit_event') }).toEqual(before);
  });

  it('recognises an agent through another identity whose email is verified, and audits the link', async () => {
    const approver = (await (await t.as('approver.culture')).get('/me').expect(200)).body as { id: string };
    const token = await forge({
      sub: 'approver-culture-through-another-provider',
      email: 'Paul.Girard@culture.gouv.fr',
      email_verified: true,
      given_name: 'Paul',
      usual_name: 'Girard',
    });
    const me = await request(t.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(me.body.id).toBe(approver.id);
    const [event] = await t.db.query(`SELECT action, entity_id, after FROM audit_event ORDER BY seq DESC LIMIT 1`);
    expect(event).toMatchObject({
      action: 'agent.identity-linked',
      entity_id: approver.id,
      after: { sub: 'approver-culture-through-another-provider', linkedBy: 'email' },
    });
  });

  it('refuses a user whose email domain belongs to no ministry, and writes nothing', async () => {
    const agents = await countRows(t.db, 'agent');
    const token = await forge({ sub: 'stranger-1', email: 'someone@gmail.com', given_name: 'Some', usual_name: 'One' });
    const res = await request(t.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(403);
    expect(res.body.code).toBe('auth.unknown-organisation');
    expect(res.body.message).toContain('gmail.com');
    expect(await countRows(t.db, 'agent')).toBe(agents);
  });
});
