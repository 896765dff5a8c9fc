/**
 * The IT device page in a real browser (Debian's chromium driven by playwright-core), against the
 * real API: a ministry's IT finds a non-compliant iPhone in the list, opens it and reads every
 * reason, where its policy is and what it still has to do; another ministry's IT given the same
 * link sees a refusal and nothing of the phone. Own dev provider on a free port, like
 * admin-ui-platforms.e2e-spec.ts.
 */
import { Browser, BrowserContext, Page } from 'playwright-core';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { ensureAdminUiBuilt, launchChromium, seriousAccessibilityViolations, signIn } from './support/browser';
import { DEV_IDP_DEFAULT_REDIRECT_URIS, DevIdp, startDevIdp } from './support/dev-idp';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

jest.setTimeout(240_000);

let provider: DevIdp | undefined;
let t: TestApp;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];
let phone: { id: string; display_name: string };

beforeAll(async () => {
  ensureAdminUiBuilt();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startDevIdp({ redirectUris: [...DEV_IDP_DEFAULT_REDIRECT_URIS, `${base}/auth/callback`] });
  const saved = process.env.TEST_OIDC_ISSUER;
  process.env.TEST_OIDC_ISSUER = provider.issuer;
  try {
    t = await startTestApp({ listen: true, port, browserLogin: { publicUrl: base } });
  } finally {
    process.env.TEST_OIDC_ISSUER = saved;
  }
  [phone] = (await t.db.query(
    `SELECT id, display_name FROM device WHERE ministry_code = 'interieur' AND platform = 'ios' AND agent_id IS NOT NULL
      ORDER BY display_name LIMIT 1`,
  )) as { id: string; display_name: string }[];
  // Its inventory: TikTok installed by the agent, and not supervised (apps cannot be blocked on it).
  await t.app.get(RolloutEngine).reportInventory(phone.id, {
    installed: [{ id: 'com.zhiliaoapp.musically', managed: false }],
    osVersion: '17.5',
    supervised: false,
    policyErrors: [],
  });
  // A profile installation the phone has not fetched yet (switched off).
  await t.db.query(
    `INSERT INTO apple_command (device_id, request_type, command, status) VALUES ($1, 'InstallProfile', '\\x00', 'queued')`,
    [phone.id],
  );
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
  await provider?.stop();
});

async function pageFor(login: string, hash: string, width = 1280): Promise<Page> {
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  // Signed in wide: on a phone, the sign-out button signIn waits for is in the header's menu.
  await signIn(page, base, login, hash);
  await page.setViewportSize({ width, height: 900 });
  return page;
}

async function expectAccessible(page: Page, where: string): Promise<void> {
  const violations = await seriousAccessibilityViolations(page);
  expect({ where, violations }).toEqual({ where, violations: [] });
}

describe('the IT device page', () => {
  it('opens a non-compliant phone from the list, with every reason, its policy and its pending commands', async () => {
    const api = (await (await t.as('it.interieur')).get(`/devices/${phone.id}`).expect(200)).body as {
      compliance: string;
      complianceReasons: { code: string; text: string }[];
      bannedApps: string[];
    };
    expect(api.compliance).toBe('non-compliant');
    expect(api.complianceReasons.map((r) => r.code)).toEqual(expect.arrayContaining(['banned-app', 'not-supervised']));
    expect(api.bannedApps).toEqual(['tiktok']);
    const commands = (await (await t.as('it.interieur')).get(`/devices/${phone.id}/commands`).expect(200)).body as {
      supervised: boolean | null;
      items: { requestType: string; status: string }[];
    };
    expect(commands).toMatchObject({ supervised: false, items: [{ requestType: 'InstallProfile', status: 'queued' }] });

    for (const width of [1280, 390]) {
      const it = await pageFor('it.interieur', '#/informatique/appareils', width);
      await it.getByLabel('Rechercher un appareil').fill(phone.display_name);
      // The list gives the reasons in French too.
      await it.getByRole('cell', { name: /^Application interdite encore installée : TikTok/ }).waitFor();
      await it.getByRole('link', { name: phone.display_name, exact: true }).click();
      await it.getByRole('heading', { level: 2, name: new RegExp(phone.display_name) }).waitFor();
      expect(it.url()).toBe(`${base}/#/informatique/appareils/${phone.id}`);
      // Every reason, in French; TikTok by its catalog name among the banned apps found.
      const compliance = it.getByRole('region', { name: 'Conformité' });
      await compliance.getByText(/^Motifs \(\d+\)$/).waitFor();
      const reasons = (await compliance.getByRole('listitem').allTextContents()).join('\n');
      expect(reasons).toContain('Application interdite encore installée : TikTok');
      expect(reasons).toContain('Téléphone non supervisé : les applications ne peuvent pas y être bloquées');
      expect(await compliance.getByRole('listitem').count()).toBe(api.complianceReasons.length + api.bannedApps.length);
      expect(reasons).not.toMatch(/banned app|not supervised/);
      const policy = it.getByRole('region', { name: 'Politique' });
      await policy.getByText(/^Applications bloquées \(\d+\)$/).waitFor();
      await policy.getByText('Liste de blocage').waitFor();
      const commandsCard = it.getByRole('region', { name: 'Commandes' });
      await commandsCard.getByRole('table', { name: 'Commandes en attente : 1' }).getByText('InstallProfile').waitFor();
      await commandsCard.getByText('Supervisé : non').waitFor();
      await expectAccessible(it, `device page at ${width} px`);
      // Back to the list, as it was.
      await it.getByRole('link', { name: 'Retour à la liste des appareils' }).click();
      await it.getByRole('link', { name: phone.display_name, exact: true }).waitFor();
      expect(await it.getByLabel('Rechercher un appareil').inputValue()).toBe(phone.display_name);
    }
  });

  it('another ministry’s IT given the link sees a refusal, and nothing of the phone', async () => {
    await (await t.as('it.armees')).get(`/devices/${phone.id}`).expect(403);
    await (await t.as('it.armees')).get(`/devices/${phone.id}/commands`).expect(403);
    const other = await pageFor('it.armees', `#/informatique/appareils/${phone.id}`);
    await other.getByRole('heading', { level: 2, name: 'Accès refusé' }).waitFor();
    expect(await other.getByRole('main').textContent()).not.toContain(phone.display_name);
    expect(await other.getByRole('main').textContent()).not.toContain('InstallProfile');
    await expectAccessible(other, 'device page refused');
  });

  it('locking asks for a confirmation; a refusal (no Apple MDM on this server) is said, and nothing is queued', async () => {
    const locks = async () =>
      (
        (await t.db.query(
          `SELECT count(*)::int AS n FROM apple_command WHERE device_id = $1 AND request_type = 'DeviceLock'`,
          [phone.id],
        )) as { n: number }[]
      )[0].n;
    const it = await pageFor('it.interieur', `#/informatique/appareils/${phone.id}`);
    const actions = it.getByRole('region', { name: 'Actions' });
    await actions.getByRole('button', { name: 'Verrouiller l’écran' }).click();
    await actions.getByRole('button', { name: 'Ne rien faire' }).click();
    await actions.getByRole('button', { name: 'Verrouiller l’écran' }).click();
    await actions.getByRole('button', { name: 'Confirmer le verrouillage' }).click();
    await actions.getByText('L’action n’a pas abouti').waitFor();
    expect(await locks()).toBe(0);
    // Retiring needs a reason first.
    expect(await actions.getByRole('button', { name: 'Retirer l’appareil' }).isDisabled()).toBe(true);
  });

  it('GET /devices/{id}/commands lists the newest first, with Apple’s error in words; none for Android; unknown id 404', async () => {
    await t.db.query(
      `INSERT INTO apple_command (device_id, request_type, command, status, answered_at, result)
       VALUES ($1, 'InstallApplication', '\\x00', 'error', now(), $2)`,
      [
        phone.id,
        JSON.stringify({ ErrorChain: [{ ErrorCode: 12040, LocalizedDescription: 'The app could not be found' }] }),
      ],
    );
    const it = await t.as('it.interieur');
    const body = (await it.get(`/devices/${phone.id}/commands`).expect(200)).body as {
      items: { requestType: string; status: string; answeredAt: string | null; error: string | null }[];
    };
    expect(body.items[0]).toMatchObject({
      requestType: 'InstallApplication',
      status: 'error',
      error: 'The app could not be found, error 12040',
    });
    expect(body.items[0].answeredAt).not.toBeNull();
    expect(body.items.slice(1).every((k) => k.error === null)).toBe(true);
    const [android] = (await t.db.query(
      `SELECT id FROM device WHERE ministry_code = 'interieur' AND platform = 'android' LIMIT 1`,
    )) as { id: string }[];
    expect((await it.get(`/devices/${android.id}/commands`).expect(200)).body).toEqual({ supervised: null, items: [] });
    await it.get('/devices/00000000-0000-4000-8000-000000000000/commands').expect(404);
    await it.get('/devices/not-an-id/commands').expect(404);
  });
});
