/**
 * Sign-in through the ProConnect-like provider in a real browser (Chromium driven by playwright-core),
 * on the server-rendered pages only: our /auth/login → the provider's account picker → /auth/callback.
 * The same person signs in through two identity providers and is one agent with their exemptions;
 * sign-out ends the provider's session; the provider refuses what ProConnect refuses and we never
 * send it; a callback URL opened in another browser and a tampered userinfo JWT are refused; the
 * return address stays on our origin.
 */
import { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/browser';
import { HttpBrowser } from './support/http-browser';
import { SESSION_TEST_PORT } from './support/ports';
import { countRows, startTestApp, TestApp } from './support/test-app';

jest.setTimeout(120_000);

const base = `http://127.0.0.1:${SESSION_TEST_PORT}`;
let t: TestApp;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  t = await startTestApp({
    listen: true,
    port: SESSION_TEST_PORT,
    browserLogin: { publicUrl: base, extraScopes: ['organizational_unit'] },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/**
 * A new browser profile. Its navigations are isolated from the other profiles' cookies, but with the
 * packaged Chromium's --single-process flag a fetch() from a page may carry another profile's
 * cookies: what a person is signed in as is read through navigations here, never through fetch().
 */
async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

/** The page's text as JSON (our API answers JSON; Chromium shows it as text). */
async function json(page: Page): Promise<Record<string, unknown>> {
  return JSON.parse((await page.locator('body').innerText()).trim()) as Record<string, unknown>;
}

/** Our sign-in link, then the account the person picks on the provider's page. */
async function signIn(page: Page, login: string, returnTo = '/me'): Promise<void> {
  await page.goto(`${base}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  await page.locator(`button[name="login"][value="${login}"]`).click();
  await page.waitForURL((url) => url.origin === base);
}

/** What the interface does: POST /auth/logout with its header, then the browser goes where it is told. */
async function signOut(page: Page): Promise<void> {
  const answer = await page.evaluate(async () => {
    const res = await fetch('/auth/logout', { method: 'POST', headers: { 'X-Requested-With': 'mdm-admin-ui' } });
    return { status: res.status, body: res.status === 200 ? ((await res.json()) as { redirectTo: string }) : null };
  });
  expect(answer.status).toBe(200);
  await page.goto(answer.body!.redirectTo);
  await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith('/auth/logout'));
}

async function api(
  page: Page,
  method: 'POST',
  path: string,
  body?: object,
): Promise<{ status: number; body: Record<string, unknown> & Record<string, unknown>[] }> {
  return page.evaluate<
    { status: number; body: Record<string, unknown> & Record<string, unknown>[] },
    { method: string; path: string; body?: object }
  >(
    async ({ method, path, body }) => {
      const res = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'mdm-admin-ui' },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & Record<string, unknown>[] };
    },
    { method, path, body },
  );
}

describe('ProConnect sign-in in Chromium', () => {
  it('creates the agent from the userinfo JWT, and knows her again through another identity provider, exemptions included', async () => {
    const page = await newPage();
    const authorizeUrls: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${t.issuer}/auth?`)) authorizeUrls.push(r.url());
    });
    const agents = await countRows(t.db, 'agent');
    await signIn(page, 'presse2.interieur');
    expect(new URL(page.url()).pathname).toBe('/me');
    const first = await json(page);
    expect(first).toMatchObject({
      email: 'ines.moreau@interieur.gouv.fr',
      displayName: 'Inès Moreau',
      ministry: 'interieur',
    });
    expect(await countRows(t.db, 'agent')).toBe(agents + 1);
    // uid, idp_id and the unit are in the signed userinfo answer only (not in the id_token).
    const [stored] = await t.db.query(`SELECT sub, idp_id, uid, organizational_unit FROM agent WHERE id = $1`, [
      first.id,
    ]);
    expect(stored).toEqual({
      sub: 'pc-ines-moreau-fi-interieur',
      idp_id: 'fi-interieur',
      uid: 'imoreau',
      organizational_unit: "Délégation à l'information et à la communication / Pôle réseaux sociaux",
    });
    // Ours never sends a parameter ProConnect does not list.
    expect(authorizeUrls).toHaveLength(1);
    const allowed = [
      'response_type',
      'client_id',
      'redirect_uri',
      'scope',
      'claims',
      'state',
      'nonce',
      'prompt',
      'idp_hint',
    ];
    expect([...new URL(authorizeUrls[0]).searchParams.keys()].filter((k) => !allowed.includes(k))).toEqual([]);

    const asked = await api(page, 'POST', '/exemptions', {
      app: 'tiktok',
      justification: 'Animation du compte TikTok officiel du ministère',
      days: 30,
    });
    expect(asked.status).toBe(201);
    await (await t.as('approver.interieur')).post(`/exemptions/${asked.body.id}/approve`).send({}).expect(200);

    await signOut(page);
    expect((await page.goto(`${base}/me`))?.status()).toBe(401);
    // The provider's session ended too: it asks which account again.
    await page.goto(`${base}/auth/login?returnTo=/me`);
    await page.locator('button[name="login"]').first().waitFor();
    expect(new URL(page.url()).origin).toBe(t.issuer);

    // The same person, through ProConnect Identité: another sub, the same verified professional email.
    await page.locator('button[name="login"][value="presse2.interieur.pci"]').click();
    await page.waitForURL((url) => url.origin === base);
    const second = await json(page);
    expect(second.id).toBe(first.id);
    await page.goto(`${base}/me/exemptions`);
    expect(JSON.parse(await page.locator('body').innerText())).toEqual([
      expect.objectContaining({ id: asked.body.id, status: 'approved' }),
    ]);
    expect(await countRows(t.db, 'agent')).toBe(agents + 1);
  });

  it('is refused by the provider when the authorize URL carries one more parameter', async () => {
    const page = await newPage();
    const authorize: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${t.issuer}/auth?`)) authorize.push(r.url());
    });
    await page.goto(`${base}/auth/login?returnTo=/me`);
    await page.locator('button[name="login"]').first().waitFor();
    expect(authorize).toHaveLength(1);
    const tampered = new URL(authorize[0]);
    tampered.searchParams.set('code_challenge_method', 'S256');
    const res = await page.goto(tampered.toString());
    expect(res?.status()).toBe(400);
    await expect(page.locator('body').innerText()).resolves.toMatch(/Y000400[\s\S]*code_challenge_method/);
    // The URL as we sent it is accepted.
    expect((await page.goto(authorize[0]))?.status()).toBe(200);
    await page.locator('button[name="login"]').first().waitFor();
  });

  it('refuses a callback URL opened in another browser, which the browser that started it can still use', async () => {
    // Someone signs in to their own account and stops at the provider's answer…
    const starter = new HttpBrowser();
    const picker = await starter.go(`${base}/auth/login?returnTo=/me`);
    const isCallback = (url: URL) => url.origin === base && url.pathname === '/auth/callback';
    const callback = (await starter.submit(picker, { login: 'agent.armees' }, { stopAt: isCallback })).url;
    expect(isCallback(new URL(callback))).toBe(true);

    // …and has another person's browser open it (a link, a redirection): refused.
    const victim = await newPage();
    const refused = await victim.goto(callback);
    expect(refused?.status()).toBe(403);
    expect(await json(victim)).toMatchObject({ code: 'auth.login-other-browser' });
    expect((await victim.context().cookies(base)).map((c) => c.name)).not.toContain('mdm_session');
    expect((await victim.goto(`${base}/me`))?.status()).toBe(401);

    // The browser that started the sign-in finishes it.
    const finished = await starter.go(callback);
    expect(JSON.parse(finished.body)).toMatchObject({ email: 'thomas.petit@intradef.gouv.fr' });
  });

  it('keeps returnTo=/\\evil.example on our origin', async () => {
    const page = await newPage();
    await signIn(page, 'agent.culture', '/\\evil.example/phish');
    expect(new URL(page.url()).origin).toBe(base);
    // Signed in already, at the provider too: straight back, still here.
    await page.goto(`${base}/auth/login?returnTo=${encodeURIComponent('/\\evil.example/phish')}`);
    await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith('/auth/'));
    expect(new URL(page.url()).origin).toBe(base);
  });

  it('refuses a userinfo JWT tampered with on its way', async () => {
    const page = await newPage();
    await signIn(page, 'usurpation.culture');
    expect(await json(page)).toMatchObject({ code: 'auth.userinfo-refused' });
    expect((await page.goto(`${base}/me`))?.status()).toBe(401);
    expect(await countRows(t.db, `agent WHERE email = 'marc.roux@culture.gouv.fr'`)).toBe(0);
  });
});
