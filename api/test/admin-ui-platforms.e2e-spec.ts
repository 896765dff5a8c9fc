/**
 * The IT pages of the Android side in a real browser (Debian's chromium driven by playwright-core),
 * against the real API with Android on the strict fake (tools/fake-amapi): the ministry's Android tab
 * says what its set-up lacks in the API's own sentences; a token for personally owned phones gives
 * its enrollment link beside the QR code; the devices list says where each phone's policy is.
 * Own dev provider on a free port, so that it never meets admin-ui.e2e-spec.ts on its fixed port.
 */
import { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { AndroidSettings } from '../src/android/android-settings';
import { ensureAdminUiBuilt, launchChromium, seriousAccessibilityViolations, signIn } from './support/browser';
import { DEV_IDP_DEFAULT_REDIRECT_URIS, DevIdp, startDevIdp } from './support/dev-idp';
import { fakeAmapiSettings } from './support/fake-amapi-settings';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

jest.setTimeout(240_000);

/** Made in Google's console: no topic, no notification. */
const CONSOLE_ENTERPRISE = 'enterprises/LC0console';

let fake: FakeAmapi;
let settings: AndroidSettings;
let provider: DevIdp | undefined;
let t: TestApp;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  ensureAdminUiBuilt();
  fake = await startFakeAmapi({
    enterprises: [{ name: CONSOLE_ENTERPRISE, pubsubTopic: undefined, enabledNotificationTypes: undefined }],
    projectId: 'mdm-etat',
  });
  // No PUBSUB_TOPIC: binding leaves the enterprise silent, which the health panel must say.
  settings = fakeAmapiSettings(fake);
  settings.pubsub.topic = undefined;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // The API's test tokens come back to :3000, the browser's sign-in to this port.
  provider = await startDevIdp({ redirectUris: [...DEV_IDP_DEFAULT_REDIRECT_URIS, `${base}/auth/callback`] });
  const saved = process.env.TEST_OIDC_ISSUER;
  process.env.TEST_OIDC_ISSUER = provider.issuer;
  try {
    t = await startTestApp({ listen: true, port, browserLogin: { publicUrl: base }, android: settings });
  } finally {
    process.env.TEST_OIDC_ISSUER = saved;
  }
  await (
    await t.as('it.interieur')
  )
    .put('/ministries/interieur/android/enterprise')
    .send({ enterpriseName: CONSOLE_ENTERPRISE })
    .expect(200);
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
  await fake?.stop();
  await provider?.stop();
});

async function pageFor(login: string, hash: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await signIn(page, base, login, hash);
  return page;
}

async function expectAccessible(page: Page, where: string): Promise<void> {
  const violations = await seriousAccessibilityViolations(page);
  expect({ where, violations }).toEqual({ where, violations: [] });
}

describe('the Android side of the IT pages', () => {
  it('the Android tab shows what the set-up lacks, in the API’s sentences, and the last report time', async () => {
    const health = (await (await t.as('it.interieur')).get('/ministries/interieur/android/health').expect(200))
      .body as { problems: { code: string; message: string }[] };
    const topic = health.problems.find((p) => p.code === 'no-topic-configured');
    expect(topic?.message).toContain('PUBSUB_TOPIC is not configured');
    const it = await pageFor('it.interieur', '#/informatique/android');
    await it.getByRole('heading', { name: 'État de la configuration Android' }).waitFor();
    await it.getByText(topic?.message ?? '', { exact: true }).waitFor();
    await it.getByText(`Entreprise Android : ${CONSOLE_ENTERPRISE}`).waitFor();
    await it.getByText('Dernier rapport reçu d’un téléphone : —').waitFor();
    await it.getByText(/^Aucun téléphone inconnu/).waitFor();
    await expectAccessible(it, 'android health');
  });

  it('a token for personally owned phones gives its enrollment link beside the QR code', async () => {
    const it = await pageFor('it.interieur', '#/informatique/enrolement');
    await it.getByLabel('Usage personnel').selectOption('allowed');
    await it.getByRole('button', { name: 'Créer un jeton d’enrôlement' }).click();
    await it.getByRole('img', { name: 'Code QR d’enrôlement Android' }).waitFor();
    const link = it.locator('#android-enrollment-link');
    await link.waitFor();
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^https:\/\/enterprise\.google\.com\/android\/enroll\?et=.+/);
    expect(await link.textContent()).toBe(href);
    // The token behind it is the one Google knows (the fake holds it).
    const value = new URL(href ?? '').searchParams.get('et');
    expect([...fake.state.enrollmentTokens.values()].map((tk) => tk.value)).toContain(value);
    await it.getByRole('button', { name: 'Copier le lien d’enrôlement' }).waitFor();
    // A fully managed phone (factory reset) has no such link.
    await it.getByLabel('Usage personnel').selectOption('disallowed');
    await it.getByRole('button', { name: 'Créer un jeton d’enrôlement' }).click();
    await link.waitFor({ state: 'detached' });
    await expectAccessible(it, 'enrolment');
  });

  it('the devices list says where each phone’s policy is', async () => {
    // The first page, as the list shows it (50 a page).
    const page = (await (await t.as('it.interieur')).get('/ministries/interieur/devices?limit=50').expect(200))
      .body as { items: { displayName: string; delivery: string; lastSeenAt: string | null }[] };
    expect(page.items.length).toBeGreaterThan(0);
    const it = await pageFor('it.interieur', '#/informatique/appareils');
    await it.getByLabel('Conformité').selectOption('');
    const table = it.getByRole('table');
    await table.waitFor();
    const text = (await table.textContent()) ?? '';
    const expected = { converged: 'À jour', waiting: 'En attente (', retrying: 'Nouvel essai', failed: 'Échec' };
    for (const state of new Set(page.items.map((d) => d.delivery)))
      expect(text).toContain(expected[state as keyof typeof expected]);
    expect(text).not.toContain('Appliquée');
  });
});
