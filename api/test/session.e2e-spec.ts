import { SESSION_TEST_PORT } from './support/ports';
import { startTestApp, TestApp } from './support/test-app';

let t: TestApp;
const base = `http://127.0.0.1:${SESSION_TEST_PORT}`;

beforeAll(async () => {
  t = await startTestApp({ listen: true, port: SESSION_TEST_PORT, browserLogin: { publicUrl: base } });
});
afterAll(() => t.close());

/** A browser: follows redirects by hand and keeps cookies per host. */
class Browser {
  private jar = new Map<string, Map<string, string>>();
  readonly setCookies: string[] = [];
  async go(url: string, init: RequestInit = {}, hops = 10): Promise<Response> {
    const target = new URL(url);
    const cookies = this.jar.get(target.host) ?? new Map<string, string>();
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair] = line.split(';');
      const [name, ...value] = pair.split('=');
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line)) cookies.delete(name.trim());
      else cookies.set(name.trim(), value.join('='));
    }
    this.jar.set(target.host, cookies);
    const location = res.headers.get('location');
    if (location && res.status >= 300 && res.status < 400 && hops > 0)
      return this.go(new URL(location, target).toString(), {}, hops - 1);
    return res;
  }
  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }
}

async function signIn(browser: Browser, login: string): Promise<Response> {
  // Our /auth/login → the provider's login page.
  const page = await browser.go(`${base}/auth/login?returnTo=/me`);
  const html = await page.text();
  const action = /action="([^"]+)"/.exec(html)?.[1] as string;
  // The person picks their account; the provider sends the browser back to /auth/callback, then /me.
  return browser.go(new URL(action, page.url || t.issuer).toString().replace(/^http:\/\/[^/]+/, t.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login }).toString(),
  });
}

describe('browser sign-in (code + PKCE run by the backend, httpOnly session cookie)', () => {
  it('signs in through the provider and lands on the requested page with an httpOnly session', async () => {
    const browser = new Browser();
    const me = await signIn(browser, 'it.culture');
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: 'chloe.bonnet@culture.gouv.fr', ministry: 'culture' });
    expect(browser.cookie(`127.0.0.1:${SESSION_TEST_PORT}`, 'mdm_session')).toBeDefined();
    const session = browser.setCookies.find((c) => c.startsWith('mdm_session='));
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM session`);
    expect(n).toBeGreaterThan(0);
  });

  it('requires the X-Requested-With header for writes made with the cookie, and logs out', async () => {
    const browser = new Browser();
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
    expect(((await forged.json()) as { code: string }).code).toBe('auth.csrf');
    const ok = await browser.go(`${base}/exemptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-requested-with': 'mdm-admin-ui' },
      body,
    });
    expect(ok.status).toBe(201);
    expect((await browser.go(`${base}/auth/logout`, { method: 'POST' })).status).toBe(204);
    expect((await browser.go(`${base}/me`)).status).toBe(401);
  });

  it('refuses a callback it did not start, and an outside return address', async () => {
    const res = await fetch(`${base}/auth/callback?code=x&state=forged`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    const login = await fetch(`${base}/auth/login?returnTo=//evil.example`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const [{ return_to }] = await t.db.query(`SELECT return_to FROM login_attempt ORDER BY created_at DESC LIMIT 1`);
    expect(return_to).toBe('/');
  });
});
