import { SESSION_TEST_PORT, UI_TEST_PORT } from './support/ports';
import { HttpBrowser, isLoginPage, Visit } from './support/http-browser';
import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
const base = `http://127.0.0.1:${SESSION_TEST_PORT}`;
const host = `127.0.0.1:${SESSION_TEST_PORT}`;
const isCallback = (url: URL) => url.origin === base && url.pathname === '/auth/callback';

beforeAll(async () => {
  // OIDC_EXTRA_SCOPES: ProConnect sends the organisational unit only when asked for it.
  t = await startTestApp({
    listen: true,
    port: SESSION_TEST_PORT,
    browserLogin: { publicUrl: base, extraScopes: ['siren', 'organizational_unit'] },
  });
});
afterAll(() => t.close());

/** Our /auth/login → the provider's account picker (or straight back, when the provider's session is still open). */
function startSignIn(browser: HttpBrowser, returnTo = '/me', stopAt?: (url: URL) => boolean): Promise<Visit> {
  return browser.go(`${base}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, {}, stopAt);
}

/** The person picks their account; the provider sends the browser back to /auth/callback, then to returnTo. */
async function signIn(browser: HttpBrowser, login: string, returnTo = '/me'): Promise<Visit> {
  const picker = await startSignIn(browser, returnTo);
  expect(isLoginPage(picker)).toBe(true);
  return browser.submit(picker, { login });
}

/** Signs in up to the provider's answer, without opening it: the callback URL a browser would follow. */
async function callbackUrl(browser: HttpBrowser, login: string): Promise<string> {
  const picker = await startSignIn(browser, '/me', isCallback);
  // Straight back when the provider's session is open (single sign-on), else through the account picker.
  if (isCallback(new URL(picker.url))) return picker.url;
  return (await browser.submit(picker, { login }, { stopAt: isCallback })).url;
}

async function signOut(browser: HttpBrowser): Promise<Visit> {
  const res = await browser.go(`${base}/auth/logout`, { method: 'POST', headers: { 'x-requested-with': 'test' } });
  expect(res.status).toBe(200);
  const { redirectTo } = JSON.parse(res.body) as { redirectTo: string };
  // The provider's logout page submits itself (ProConnect does not ask); the browser comes back to us.
  const page = await browser.go(redirectTo);
  return browser.submit(page, {}, { formId: 'op.logoutForm' });
}

const json = (visit: Visit) => JSON.parse(visit.body) as Record<string, unknown>;

describe('browser sign-in as ProConnect really behaves', () => {
  it('signs in with only ProConnect’s parameters and lands on the requested page with an httpOnly session', async () => {
    const browser = new HttpBrowser();
    const me = await signIn(browser, 'it.culture');
    expect(me.status).toBe(200);
    expect(json(me)).toMatchObject({ email: 'chloe.bonnet@culture.gouv.fr', ministry: 'culture' });
    const authorize = new URL(browser.visited.find((u) => new URL(u).pathname === '/auth' && u.startsWith(t.issuer))!);
    expect([...authorize.searchParams.keys()].sort()).toEqual(
      ['client_id', 'nonce', 'redirect_uri', 'response_type', 'scope', 'state'].sort(),
    );
    expect(authorize.searchParams.get('scope')).toBe(
      'openid given_name usual_name email uid siret idp_id siren organizational_unit',
    );
    expect(authorize.searchParams.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(authorize.searchParams.get('nonce')!.length).toBeGreaterThanOrEqual(32);
    expect(browser.cookie(host, 'mdm_session')).toBeDefined();
    for (const name of ['mdm_session', 'mdm_login']) {
      const line = browser.setCookies.find((c) => c.startsWith(`${name}=`));
      expect(line).toMatch(/HttpOnly/);
      expect(line).toMatch(/SameSite=Lax/);
    }
    expect(await countRows(t.db, 'session')).toBeGreaterThan(0);
  });

  it('refuses at the provider an authorize request carrying a parameter ProConnect does not list', async () => {
    const browser = new HttpBrowser();
    const authorize = new URL((await startSignIn(browser, '/', (u) => u.origin === t.issuer)).url);
    const withPkce = new URL(authorize);
    withPkce.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    withPkce.searchParams.set('code_challenge_method', 'S256');
    const refused = await browser.go(withPkce.toString());
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('Y000400');
    expect(refused.body).toContain('code_challenge');
    const shortState = new URL(authorize);
    shortState.searchParams.set('state', 'too-short');
    expect((await browser.go(shortState.toString())).status).toBe(400);
    const profile = new URL(authorize);
    profile.searchParams.set('scope', 'openid email profile');
    expect((await browser.go(profile.toString())).body).toContain('profile');
    // The request exactly as we built it is accepted.
    expect(isLoginPage(await browser.go(authorize.toString()))).toBe(true);
  });

  it('requires the X-Requested-With header for writes made with the cookie', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, 'agent.culture');
    const body = JSON.stringify({
      app: 'tiktok',
      justification: 'Compte TikTok officiel du ministère de la Culture',
      days: 30,
    });
    const forged = await browser.go(`${base}/exemptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(forged.status).toBe(403);
    expect(json(forged).code).toBe('auth.csrf');
    const ok = await browser.go(`${base}/exemptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-requested-with': 'mdm-admin-ui' },
      body,
    });
    expect(ok.status).toBe(201);
  });

  it('signs out here and at the provider: the next sign-in asks for the account again', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, 'approver.culture');
    // While the provider's session is open, signing in again does not ask (single sign-on).
    expect((await startSignIn(browser)).url).toBe(`${base}/me`);
    const back = await signOut(browser);
    const callback = browser.visited.find((u) => u.startsWith(`${base}/auth/logout/callback`));
    expect(new URL(callback!).searchParams.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(new URL(back.url).origin).toBe(base);
    expect(browser.cookie(host, 'mdm_session')).toBeUndefined();
    expect((await browser.go(`${base}/me`)).status).toBe(401);
    expect(isLoginPage(await startSignIn(browser))).toBe(true);
    // The logout the provider received carried ProConnect's three parameters.
    const end = new URL(browser.visited.find((u) => u.startsWith(`${t.issuer}/session/end?`))!);
    expect([...end.searchParams.keys()].sort()).toEqual(['id_token_hint', 'post_logout_redirect_uri', 'state']);
  });

  it('refuses a logout return whose state this browser did not leave with', async () => {
    const res = await new HttpBrowser().go(`${base}/auth/logout/callback?state=${'x'.repeat(43)}`);
    expect(res.status).toBe(400);
    expect(json(res).code).toBe('auth.bad-logout');
  });

  it('refuses a callback it did not start, and a callback URL opened in another browser (login CSRF)', async () => {
    expect((await new HttpBrowser().go(`${base}/auth/callback?code=x&state=forged`)).status).toBe(400);
    const attacker = new HttpBrowser();
    const url = await callbackUrl(attacker, 'agent.armees');
    const victim = new HttpBrowser();
    const opened = await victim.go(url);
    expect(opened.status).toBe(403);
    expect(json(opened).code).toBe('auth.login-other-browser');
    expect(victim.cookie(host, 'mdm_session')).toBeUndefined();
    // A victim who has a sign-in of their own under way is not signed into the attacker's account either.
    await startSignIn(victim);
    expect((await victim.go(url)).status).toBe(403);
    // The browser that started it can still finish.
    const finished = await attacker.go(url);
    expect(json(finished)).toMatchObject({ email: expect.stringContaining('@intradef.gouv.fr') });
  });

  it('refuses an answer made for another sign-in (its ID token carries another nonce)', async () => {
    const browser = new HttpBrowser();
    const first = new URL(await callbackUrl(browser, 'agent.economie'));
    const second = new URL(await callbackUrl(browser, 'agent.economie'));
    // The first sign-in's code, under the second's state: the provider answers for the first nonce.
    const injected = `${base}/auth/callback?code=${first.searchParams.get('code')}&state=${second.searchParams.get('state')}`;
    const res = await browser.go(injected);
    expect(res.status).toBe(401);
    expect(json(res)).toMatchObject({ code: 'auth.id-token-refused', message: expect.stringContaining('nonce') });
    expect(browser.cookie(host, 'mdm_session')).toBeUndefined();
  });

  it('keeps the return address on our origin', async () => {
    for (const returnTo of ['/\\evil.example/phish', '//evil.example', 'https://evil.example/', '/.//evil.example']) {
      const landed = await signIn(new HttpBrowser(), 'agent.interieur', returnTo);
      expect(new URL(landed.url).origin).toBe(base);
    }
    const kept = await signIn(new HttpBrowser(), 'agent.interieur', '/me?x=1#/exemptions');
    expect(new URL(kept.url).pathname).toBe('/me');
  });

  it('refuses a tampered userinfo answer, and creates no one', async () => {
    const agents = await countRows(t.db, 'agent');
    const res = await signIn(new HttpBrowser(), 'usurpation.culture');
    expect(res.status).toBe(401);
    expect(json(res)).toMatchObject({ code: 'auth.userinfo-refused', message: expect.stringContaining('signature') });
    expect(await countRows(t.db, 'agent')).toBe(agents);
  });

  it('refuses an identity whose email the provider says is not verified', async () => {
    const res = await signIn(new HttpBrowser(), 'non-verifie.culture');
    expect(res.status).toBe(403);
    expect(json(res).code).toBe('auth.unverified-email');
  });

  it('places a first sign-in in the ministry of its SIRET when its email domain is no ministry’s', async () => {
    const me = await signIn(new HttpBrowser(), 'beta.dinum');
    expect(json(me)).toMatchObject({ email: 'yanis.petit@beta.gouv.fr', ministry: 'spm', displayName: 'Yanis Petit' });
    const [agent] = await t.db.query(
      `SELECT idp_id, uid, organizational_unit, email_verified FROM agent WHERE email = 'yanis.petit@beta.gouv.fr'`,
    );
    expect(agent).toEqual({
      idp_id: 'proconnect-identite',
      uid: '51877',
      organizational_unit: 'DINUM / Incubateur des services numériques',
      email_verified: true,
    });
  });

  it('links the same person through a second identity provider, but not a second account of the same one', async () => {
    const first = json(await signIn(new HttpBrowser(), 'presse2.interieur'));
    const second = json(await signIn(new HttpBrowser(), 'presse2.interieur.pci'));
    expect(second.id).toBe(first.id);
    const [link] = await t.db.query(
      `SELECT action, after FROM audit_event WHERE action = 'agent.identity-linked' AND entity_id = $1`,
      [first.id],
    );
    expect(link.after).toMatchObject({ idpId: 'proconnect-identite', linkedBy: 'email' });
    const homonym = await signIn(new HttpBrowser(), 'homonyme.interieur');
    expect(homonym.status).toBe(403);
    expect(json(homonym).code).toBe('auth.identity-conflict');
  });
});

describe('browser sign-in with a standard OpenID Connect provider (OIDC_PROFILE=standard)', () => {
  let standard: TestApp;
  const standardBase = `http://127.0.0.1:${UI_TEST_PORT}`;
  beforeAll(async () => {
    standard = await startTestApp({
      listen: true,
      port: UI_TEST_PORT,
      browserLogin: { publicUrl: standardBase, profile: 'standard', clientId: 'mdm-api-standard' },
    });
  });
  afterAll(() => standard.close());

  it('uses PKCE and the standard scopes, and signs in', async () => {
    const browser = new HttpBrowser();
    const picker = await browser.go(`${standardBase}/auth/login?returnTo=/me`);
    const authorize = new URL(browser.visited.find((u) => u.startsWith(`${standard.issuer}/auth?`))!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('scope')).toBe('openid email profile');
    const me = await browser.submit(picker, { login: 'agent.culture' });
    expect(json(me)).toMatchObject({ email: 'emma.fournier@culture.gouv.fr', ministry: 'culture' });
  });
});
