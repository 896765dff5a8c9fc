/**
 * The compliance observatory in a real browser (Chromium driven by playwright-core), against the
 * real API, database and OIDC provider: the demo's phones are unknown (never compliant) until they
 * report; simulated phones report, one of them with TikTok; the national admin sees the figures
 * move, the banned-app ranking and the drill-down with the reason in French; a ministry's IT sees
 * their own ministry only. axe-core on each page, screenshots in test-results/screenshots/.
 */
import { Browser, Page } from 'playwright-core';
import { ComplianceService } from '../src/compliance/compliance.service';
import { PLATFORMS } from '../src/devices/platforms';
import type { EffectivePolicy } from '../src/policies/effective-policy.types';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { SimulatedFleetAdapter } from '../src/rollout/simulated-fleet.adapter';
import {
  ensureAdminUiBuilt,
  launchChromium,
  saveScreenshot,
  seriousAccessibilityViolations,
  signIn,
} from './support/browser';
import { UI_TEST_PORT } from './support/ports';
import { startTestApp, TestApp } from './support/test-app';

jest.setTimeout(240_000);

const base = `http://127.0.0.1:${UI_TEST_PORT}`;
const TIKTOK_ANDROID = 'com.zhiliaoapp.musically';
let t: TestApp;
const browsers: Browser[] = [];

interface Counts {
  phones: number;
  compliant: number;
  nonCompliant: number;
  unknown: number;
  stale: number;
  withBannedApps: number;
}
interface National {
  totals: Counts;
  ministries: { ministry: string; name: string; totals: Counts }[];
}
interface PhoneRow {
  id: string;
  display_name: string;
  platform: 'android' | 'ios';
  ownership: 'company' | 'personal';
  group_id: string;
  desired_hash: string;
  effective: EffectivePolicy;
}

beforeAll(async () => {
  ensureAdminUiBuilt();
  t = await startTestApp({ listen: true, port: UI_TEST_PORT, browserLogin: { publicUrl: base } });
  // The daily snapshot (taken at start-up by the worker, and every night): the trend has today.
  await t.app.get(ComplianceService).snapshot();
});
afterEach(async () => {
  for (const browser of browsers.splice(0)) await browser.close();
});
afterAll(async () => {
  await t?.close();
});

/**
 * A browser of their own per person, as on separate machines (the single-process Chromium of
 * @sparticuz/chromium does not keep two profiles of one browser apart); `requested` collects the
 * path of every request the page makes.
 */
async function pageFor(login: string, hash: string, requested?: string[]): Promise<Page> {
  const browser = await launchChromium();
  browsers.push(browser);
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  if (requested) page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await signIn(page, base, login, hash);
  return page;
}

async function national(): Promise<National> {
  return (await (await t.as('admin.national')).get('/compliance/national').expect(200)).body as National;
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  const violations = await seriousAccessibilityViolations(page);
  expect({ what, violations }).toEqual({ what, violations: [] });
}

/** A headline tile, found by its label as a person reads it. */
function tile(page: Page, list: string, label: string) {
  return page
    .getByRole('list', { name: list })
    .getByRole('listitem')
    .filter({ has: page.getByText(label, { exact: true }) });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** DSFR tabs grow to their panel's height with a transition: the screenshot waits for the whole panel. */
async function tabsSettled(page: Page): Promise<void> {
  // Polled with evaluate (the DevTools protocol): waitForFunction's string would be an eval, which the CSP refuses.
  const settled = `(() => {
    const tabs = document.querySelector('.fr-tabs');
    return !tabs || getComputedStyle(tabs).height === tabs.style.getPropertyValue('--tabs-height');
  })()`;
  for (let i = 0; i < 50 && !(await page.evaluate<boolean>(settled)); i++) await page.waitForTimeout(100);
}

const fr = (v: number) => v.toLocaleString('fr-FR');

/** The phones of a ministry with what their policy group wants, as the simulated fleet receives them. */
async function phonesOf(ministry: string): Promise<PhoneRow[]> {
  return (await t.db.query(
    `SELECT d.id, d.display_name, d.platform, d.ownership, g.id AS group_id, g.desired_hash, g.effective
       FROM device d JOIN policy_group g ON g.id = d.group_id
      WHERE d.ministry_code = $1 AND d.unenrolled_at IS NULL ORDER BY d.display_name, d.id`,
    [ministry],
  )) as PhoneRow[];
}

describe('compliance observatory in a real browser', () => {
  it('shows the national admin the demo phones as unknown, then the figures, the ranking and the drill-down once phones report', async () => {
    const before = await national();
    expect(before.totals).toMatchObject({ phones: 134, unknown: 134, compliant: 0 });
    const interieur = before.ministries.find((m) => m.ministry === 'interieur');
    if (!interieur) throw new Error('the demo data has no Intérieur');

    const admin = await pageFor('admin.national', '#/national/tableau-de-bord');
    await admin.getByRole('heading', { level: 2, name: 'Conformité des téléphones de l’État' }).waitFor();
    const figures = 'Chiffres clés — ensemble des ministères';
    await tile(admin, figures, 'Téléphones').getByText(fr(134), { exact: true }).waitFor();
    // Never reported: unknown, never compliant.
    await tile(admin, figures, 'Inconnus').getByText(fr(134), { exact: true }).waitFor();
    await tile(admin, figures, 'Conformes').getByText('0 %', { exact: true }).waitFor();
    const row = admin
      .getByRole('table', { name: 'Conformité par ministère' })
      .getByRole('row', { name: new RegExp(escape(interieur.name)) });
    await row
      .getByRole('cell', { name: fr(interieur.totals.unknown), exact: true })
      .first()
      .waitFor();
    // The page asks the read model a fixed number of times, never once per ministry.
    await admin.getByRole('heading', { name: 'Registre national des dérogations en cours' }).waitFor();

    // The demo's simulated phones of Intérieur apply their policy and send their inventory; one of
    // them still carries TikTok, which its policy bans.
    const engine = t.app.get(RolloutEngine);
    const phones = await phonesOf('interieur');
    const carrier = phones.find(
      (p) =>
        p.platform === 'android' &&
        p.effective.apps.some((a) => a.app === 'tiktok' && a.action === 'block' && !a.liftedBy),
    );
    if (!carrier) throw new Error('no Intérieur Android phone whose policy bans TikTok');
    for (const platform of PLATFORMS) {
      const sim = new SimulatedFleetAdapter(platform, 1);
      sim.attach(engine);
      for (const p of phones.filter((x) => x.platform === platform && x.id !== carrier.id))
        await sim.pushDevice({
          deviceId: p.id,
          ministry: 'interieur',
          ownership: p.ownership,
          groupId: p.group_id,
          policyName: p.group_id,
          hash: p.desired_hash,
          effective: p.effective,
        });
    }
    const required = carrier.effective.apps.filter((a) => a.action === 'require' && a.android.length > 0);
    await engine.reportApplied(carrier.id, carrier.desired_hash);
    await engine.reportInventory(carrier.id, {
      installed: [
        ...required.map((a) => ({ id: a.android[0], managed: true })),
        { id: TIKTOK_ANDROID, managed: false },
      ],
      osVersion: '15',
      supervised: true,
      policyErrors: [],
    });
    let after = await national();
    for (let i = 0; i < 100 && after.totals.compliant < phones.length - 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await national();
    }
    expect(after.totals).toMatchObject({
      phones: 134,
      compliant: phones.length - 1,
      nonCompliant: 1,
      unknown: 134 - phones.length,
      withBannedApps: 1,
    });

    await admin.reload();
    await tile(admin, figures, 'Inconnus')
      .getByText(fr(134 - phones.length), { exact: true })
      .waitFor();
    await tile(admin, figures, 'Non conformes').getByText('1', { exact: true }).waitFor();
    await tile(admin, figures, 'Avec une application interdite').getByText('1', { exact: true }).waitFor();
    const percent = `${(after.totals as Counts & { compliantPercent: number }).compliantPercent.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`;
    await tile(admin, figures, 'Conformes').getByText(percent, { exact: true }).waitFor();
    // The ranking of banned apps still installed, with the ministry that carries it.
    const ranking = admin.getByRole('table', { name: /Applications interdites encore installées/ });
    await ranking
      .getByRole('row', { name: /TikTok/ })
      .getByText(`${interieur.name} (1)`)
      .waitFor();
    // Each chart has its table: the trend's is in an accordion.
    await admin.getByRole('button', { name: /Données du graphique : Part des téléphones conformes/ }).click();
    await admin.getByRole('table', { name: /Part des téléphones conformes/ }).waitFor();
    await admin.locator('canvas[role="img"]').first().waitFor();
    await tabsSettled(admin);
    await saveScreenshot(admin, 'observatory-national');
    await expectAccessible(admin, 'national observatory');

    // Drill-down: the ministry's phones to look at, with the reason in French.
    await admin.getByRole('link', { name: new RegExp(`^${escape(interieur.name)}`) }).click();
    await admin.getByRole('heading', { level: 2, name: interieur.name }).waitFor();
    const drill = admin.getByRole('table', { name: /^Non conformes et inconnus/ });
    const carrierRow = drill.getByRole('row').filter({ hasText: 'Application interdite encore installée : TikTok' });
    await carrierRow.getByText('Non conforme', { exact: true }).waitFor();
    expect(await carrierRow.count()).toBe(1);
    expect(await carrierRow.textContent()).toContain(carrier.display_name);
    expect(admin.url()).toBe(`${base}/#/national/tableau-de-bord/interieur`);
    // The filter narrows to non-compliant phones: the carrier alone.
    await admin.getByRole('group', { name: 'Téléphones affichés' }).getByText('Non conformes', { exact: true }).click();
    await admin.waitForURL(`${base}/#/national/tableau-de-bord/interieur/non-conformes/1`);
    const only = admin.getByRole('table', { name: 'Non conformes : 1 téléphone', exact: true });
    await only.getByRole('row').filter({ hasText: carrier.display_name }).waitFor();
    await tabsSettled(admin);
    await saveScreenshot(admin, 'observatory-ministry');
    await expectAccessible(admin, 'ministry drill-down');
  });

  it('shows a ministry IT admin their own ministry only, with no way to another', async () => {
    const requested: string[] = [];
    const it = await pageFor('it.interieur', '#/conformite', requested);
    await it.getByRole('heading', { level: 1, name: 'Conformité du parc' }).waitFor();
    const { name } = (await (await t.as('it.interieur')).get('/compliance/ministries/interieur').expect(200)).body as {
      name: string;
    };
    await it.getByRole('heading', { level: 2, name }).waitFor();
    await it.getByRole('list', { name: `Chiffres clés — ${name}` }).waitFor();
    // The menu offers the observatory; the national figures and the other ministries are not offered.
    await it.getByRole('link', { name: 'Conformité du parc' }).waitFor();
    expect(await it.getByRole('link', { name: 'Administration nationale' }).count()).toBe(0);
    expect(await it.getByRole('combobox', { name: 'Ministère' }).count()).toBe(0);
    expect(await it.getByText('Registre national des dérogations en cours').count()).toBe(0);
    await saveScreenshot(it, 'observatory-it');
    await expectAccessible(it, 'IT observatory');

    // Typing another ministry in the address still shows their own, and asks the API nothing about it.
    await it.goto(`${base}/#/conformite/armees`);
    await it.getByRole('heading', { level: 2, name }).waitFor();
    await it
      .getByRole('table', { name: /^Non conformes et inconnus|Par plateforme/ })
      .first()
      .waitFor();
    expect(requested).toContain('/compliance/ministries/interieur');
    expect(
      requested.filter((p) => p.includes('armees') || ['/compliance/national', '/compliance/exemptions'].includes(p)),
    ).toEqual([]);
  });

  it('shows an approver their own ministry, its unknown phones page by page', async () => {
    const own = (await (await t.as('approver.culture')).get('/compliance/ministries/culture').expect(200)).body as {
      name: string;
      totals: Counts;
    };
    expect(own.totals.unknown).toBeGreaterThan(20);
    const approver = await pageFor('approver.culture', '#/conformite');
    await approver.getByRole('heading', { level: 2, name: own.name }).waitFor();
    await approver.getByRole('link', { name: 'Validation des dérogations' }).waitFor();
    const caption = `Non conformes et inconnus : ${fr(own.totals.unknown)} téléphones`;
    await approver.getByRole('table', { name: `${caption} (1 à 20 affichés)`, exact: true }).waitFor();
    await approver
      .getByRole('navigation', { name: 'Pagination' })
      .getByRole('link', { name: '2', exact: true })
      .click();
    await approver.waitForURL(`${base}/#/conformite/culture/a-examiner/2`);
    const second = approver.getByRole('table', {
      name: `${caption} (21 à ${fr(Math.min(40, own.totals.unknown))} affichés)`,
      exact: true,
    });
    await second.getByText('Aucun rapport complet reçu').first().waitFor();
    await expectAccessible(approver, 'approver observatory');
  });
});
