/**
 * Browser sign-in on a port other than 3000 (issue 18): the dev provider, started as `npm start`
 * starts it (PORT and PUBLIC_URL inherited, no DEV_IDP_REDIRECT_URIS), registers the service's own
 * callback, so "Se connecter" goes through instead of ending on `invalid_redirect_uri`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Browser } from 'playwright-core';
import { ensureAdminUiBuilt, launchChromium, signIn } from './support/browser';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

jest.setTimeout(180_000);

const SERVER = resolve(__dirname, '..', '..', 'tools', 'dev-idp', 'server.mjs');

/** The provider as `npm start` runs it: the service's PORT/PUBLIC_URL in its environment, nothing else said. */
function startProvider(env: NodeJS.ProcessEnv): Promise<{ issuer: string; child: ChildProcess }> {
  const clean: NodeJS.ProcessEnv = { ...process.env, ...env, DEV_IDP_PORT: '0', DEV_IDP_PROFILE: 'proconnect' };
  delete clean.DEV_IDP_REDIRECT_URIS;
  delete clean.DEV_IDP_JWKS_FILE;
  if (env.PUBLIC_URL === undefined) delete clean.PUBLIC_URL;
  const child = spawn(process.execPath, [SERVER], { env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      const m = /DEV_IDP_READY (\S+)/.exec(c.toString());
      if (m) ok({ issuer: m[1], child });
    });
    child.once('exit', (code) => fail(new Error(`dev-idp exited with ${code}: ${err}`)));
  });
}

/** What the provider answers to the authorize request of `mdm-api` coming back to `redirectUri`. */
async function authorize(issuer: string, redirectUri: string): Promise<{ status: number; body: string }> {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: 'mdm-api',
    redirect_uri: redirectUri,
    scope: 'openid email given_name usual_name uid',
    state: 's'.repeat(32),
    nonce: 'n'.repeat(32),
  });
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    authorization_endpoint: string;
  };
  const res = await fetch(`${discovery.authorization_endpoint}?${params}`, { redirect: 'manual' });
  return { status: res.status, body: `${res.headers.get('location') ?? ''} ${await res.text()}` };
}

/** On to the provider's account picker: the request was accepted. */
function accepted(answer: { status: number; body: string }): boolean {
  return answer.status >= 300 && answer.status < 400 && !answer.body.includes('error=');
}

const providers: ChildProcess[] = [];
let t: TestApp | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await t?.close();
  for (const p of providers) p.kill('SIGTERM');
});

it('registers the callback on PORT, and on PUBLIC_URL when it is set', async () => {
  const port = await freePort();
  const onPort = await startProvider({ PORT: String(port) });
  providers.push(onPort.child);
  expect(accepted(await authorize(onPort.issuer, `http://127.0.0.1:${port}/auth/callback`))).toBe(true);
  expect(accepted(await authorize(onPort.issuer, `http://localhost:${port}/auth/callback`))).toBe(true);
  // Not the old fixed port: a redirect the service would not receive is refused.
  const elsewhere = await authorize(onPort.issuer, 'http://127.0.0.1:3000/auth/callback');
  expect(elsewhere.status).toBe(400);
  expect(elsewhere.body).toContain('redirect_uri');

  const behindProxy = await startProvider({ PORT: String(port), PUBLIC_URL: 'https://mdm.example.gouv.fr/' });
  providers.push(behindProxy.child);
  expect(accepted(await authorize(behindProxy.issuer, 'https://mdm.example.gouv.fr/auth/callback'))).toBe(true);
});

it('signs in from the browser on a non-default port', async () => {
  ensureAdminUiBuilt();
  const port = await freePort();
  const provider = await startProvider({ PORT: String(port) });
  providers.push(provider.child);
  const saved = process.env.TEST_OIDC_ISSUER;
  process.env.TEST_OIDC_ISSUER = provider.issuer;
  try {
    t = await startTestApp({ listen: true, port, browserLogin: { publicUrl: `http://127.0.0.1:${port}` } });
  } finally {
    process.env.TEST_OIDC_ISSUER = saved;
  }
  browser = await launchChromium();
  const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
  const base = `http://127.0.0.1:${port}`;
  await signIn(page, base, 'agent.interieur', '#/');
  await page.getByRole('heading', { level: 1, name: 'Mon espace agent' }).waitFor();
  expect(new URL(page.url()).origin).toBe(base);
});
