/**
 * The approvers' queue of a big ministry in a real browser (chromium driven by playwright-core):
 * 10,000 pending requests in interieur, paged by the API's keyset cursor (next, previous) and
 * filtered by status, app and age — each page the right 20 requests, in the API's order, and the
 * count 10,000. And the API's refusals said in French, without its English sentence nor an id.
 * No timing here: bench/ui-queue.bench.ts measures the page loads.
 * Own dev provider on a free port, so that it never meets admin-ui.e2e-spec.ts on its fixed port.
 */
import { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureAdminUiBuilt, launchChromium, seriousAccessibilityViolations, signIn } from './support/browser';
import { DEV_IDP_DEFAULT_REDIRECT_URIS, DevIdp, startDevIdp } from './support/dev-idp';
import { seedPendingQueue } from './support/pending-queue';
import { freePort } from './support/ports';
import { startTestApp, TestApp } from './support/test-app';

jest.setTimeout(300_000);

const PENDING = 10_000;
const PAGE = 20;
let provider: DevIdp | undefined;
let t: TestApp;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];

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
  await seedPendingQueue(t.db, 'interieur', PENDING);
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
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

/** The requests the API should list for these filters, in its order (oldest first, then id). */
async function expected(filter: { status?: string; app?: string; minAgeDays?: number } = {}): Promise<string[]> {
  const params: unknown[] = ['interieur', filter.status ?? 'pending'];
  let where = `ministry_code = $1 AND status = $2`;
  if (filter.app) {
    params.push(filter.app);
    where += ` AND app_slug = $${params.length}`;
  }
  if (filter.minAgeDays !== undefined) {
    params.push(filter.minAgeDays);
    where += ` AND requested_at <= now() - make_interval(days => $${params.length}::int)`;
  }
  const rows = (await t.db.query(`SELECT id FROM exemption WHERE ${where} ORDER BY requested_at, id`, params)) as {
    id: string;
  }[];
  return rows.map((r) => r.id);
}

/** The requests on screen, by id (each request's heading is `req-<id>`), once the page shows `status`. */
async function shown(page: Page, status: RegExp): Promise<string[]> {
  await page.getByRole('status').filter({ hasText: status }).waitFor();
  const ids = await page.locator('article h2[id^="req-"]').evaluateAll((hs) => hs.map((h) => h.id.slice(4)));
  return ids;
}

/** "10 000" as the interface writes it (French grouping, with a narrow no-break space). */
const fr = (n: number) => n.toLocaleString('fr-FR');
const spaced = (text: string) => new RegExp(text.replace(/\s/g, '\\s'));

describe('the approvers’ queue at 10,000 pending requests', () => {
  it('shows the count, pages forward and back on the API’s cursor, each page the right 20 requests', async () => {
    const all = await expected();
    expect(all).toHaveLength(PENDING);
    const pages = Math.ceil(PENDING / PAGE);
    const approver = await pageFor('approver.interieur', '#/validation/file');
    const next = approver.getByRole('button', { name: 'Page suivante' });
    const previous = approver.getByRole('button', { name: 'Page précédente' });

    expect(await shown(approver, spaced(`^${fr(PENDING)} demandes en attente, .* page 1 sur ${pages}\\.$`))).toEqual(
      all.slice(0, PAGE),
    );
    await expectAccessible(approver, 'queue of 10,000');
    for (let n = 2; n <= 6; n++) {
      await next.click();
      expect(await shown(approver, new RegExp(`page ${n} sur ${pages}\\.$`))).toEqual(
        all.slice((n - 1) * PAGE, n * PAGE),
      );
    }
    await previous.click();
    await previous.click();
    expect(await shown(approver, new RegExp(`page 4 sur ${pages}\\.$`))).toEqual(all.slice(3 * PAGE, 4 * PAGE));
    await next.click();
    expect(await shown(approver, new RegExp(`page 5 sur ${pages}\\.$`))).toEqual(all.slice(4 * PAGE, 5 * PAGE));

    // A reload asks for the first page alongside /me (this tab showed interieur's queue): the same rows.
    await approver.reload();
    expect(await shown(approver, /page 1 sur/)).toEqual(all.slice(0, PAGE));
    // A wrong guess (a ministry this approver does not decide for) is neither shown nor reported.
    await approver.evaluate(`sessionStorage.setItem('mdm.lastQueueMinistry', 'armees')`);
    await approver.reload();
    expect(await shown(approver, /page 1 sur/)).toEqual(all.slice(0, PAGE));
    expect(await approver.getByRole('alert').count()).toBe(0);
  });

  it('filters by app and age, from the first page, down to the last page', async () => {
    const approver = await pageFor('approver.interieur', '#/validation/file');
    await approver.getByRole('status').filter({ hasText: 'page 1 sur' }).waitFor();
    const filters = approver.getByRole('form', { name: 'Filtrer les demandes' });

    await filters.getByLabel('Application').selectOption('signal');
    const bySignal = await expected({ app: 'signal' });
    expect(bySignal.length).toBeGreaterThan(1000);
    expect(await shown(approver, spaced(`^${fr(bySignal.length)} demandes en attente, .* page 1 sur`))).toEqual(
      bySignal.slice(0, PAGE),
    );
    const titles = await approver.getByRole('article').getByRole('heading').allTextContents();
    expect(titles.every((title) => title.startsWith('Signal — '))).toBe(true);

    // Older than 30 days as well: half of them; the filter starts again at the first page.
    await approver.getByRole('button', { name: 'Page suivante' }).click();
    await approver
      .getByRole('status')
      .filter({ hasText: /page 2 sur/ })
      .waitFor();
    await filters.getByLabel('Ancienneté de la demande').selectOption('30');
    const old = await expected({ app: 'signal', minAgeDays: 30 });
    expect(old.length).toBeGreaterThan(PAGE);
    expect(old.length).toBeLessThan(bySignal.length);
    const lastPage = Math.ceil(old.length / PAGE);
    expect(
      await shown(approver, spaced(`^${fr(old.length)} demandes en attente, .* page 1 sur ${lastPage}\\.$`)),
    ).toEqual(old.slice(0, PAGE));

    // The last page: what is left, and no page after it.
    for (let n = 2; n <= lastPage; n++) {
      await approver.getByRole('button', { name: 'Page suivante' }).click();
      await approver
        .getByRole('status')
        .filter({ hasText: new RegExp(`page ${n} sur ${lastPage}\\.$`) })
        .waitFor();
    }
    expect(await shown(approver, new RegExp(`page ${lastPage} sur ${lastPage}\\.$`))).toEqual(
      old.slice((lastPage - 1) * PAGE),
    );
    expect(await approver.getByRole('button', { name: 'Page suivante' }).isDisabled()).toBe(true);

    // Another status: none of the 10,000 is approved.
    await filters.getByLabel('Statut').selectOption('approved');
    const approved = await expected({ status: 'approved', app: 'signal', minAgeDays: 30 });
    if (approved.length === 0) await approver.getByText('Aucune demande ne correspond à ces filtres.').waitFor();
    else expect(await shown(approver, /approuvée/)).toEqual(approved.slice(0, PAGE));
    await expectAccessible(approver, 'queue, filtered');
  });

  it('is usable at 390 px: no sideways scrolling, filters and pager within the screen', async () => {
    const phone = await pageFor('approver.interieur', '#/validation/file');
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.getByRole('status').filter({ hasText: 'page 1 sur' }).waitFor();
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    const pager = await phone.getByRole('navigation', { name: 'Pages de la file' }).boundingBox();
    expect(pager && pager.x >= 0 && pager.x + pager.width <= 390).toBe(true);
    await expectAccessible(phone, 'queue at 390 px');
  });
});

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** Words of the API's English sentences that French never uses. */
const ENGLISH = /\b(the|this|is|not|only|already|unknown|cannot|must|Détail)\b/i;

function expectFrench(text: string | null): void {
  expect(text).not.toMatch(UUID);
  expect(text).not.toMatch(ENGLISH);
}

describe('the API’s refusals, in French', () => {
  it('a decision on a request decided meanwhile says so, without the API’s English', async () => {
    const approver = await pageFor('approver.interieur', '#/validation/file');
    const first = approver.getByRole('article').first();
    await first.waitFor();
    const id = ((await first.locator('h2').getAttribute('id')) ?? '').slice(4);
    // Someone else refuses it while this page is open.
    await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${id}/deny`)
      .send({ reason: 'Traitée par un autre valideur' })
      .expect(200);
    await first.getByRole('button', { name: 'Approuver' }).click();
    const alert = first.getByRole('alert').filter({ hasText: 'La décision n’a pas été enregistrée' });
    await alert
      .getByText('Cette demande a déjà été traitée ou n’est plus dans un état qui permet cette action.')
      .waitFor();
    expectFrench(await alert.textContent());
    await expectAccessible(approver, 'refused decision');
  });

  it('a request for an app the catalog does not have (a stale form) says so in French', async () => {
    const agent = await pageFor('agent.interieur', '#/agent/derogation');
    const app = agent.getByLabel('Application').first();
    await app.locator('option:not([value=""])').first().waitFor({ state: 'attached' });
    const slug = await app.locator('option:not([value=""])').first().getAttribute('value');
    await app.selectOption(slug ?? '');
    await agent.getByLabel('Justification').fill('Communication de crise avec les préfectures (formulaire ancien)');
    await agent.getByLabel('Durée demandée (en jours)').fill('30');
    // The form was loaded before the app left the catalog: the request names an app the API does not know.
    await agent.route('**/exemptions', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
      await route.continue({ postData: JSON.stringify({ ...body, app: 'appli-retiree-du-catalogue' }) });
    });
    await agent.getByRole('button', { name: 'Envoyer la demande' }).click();
    const alert = agent.getByRole('alert').filter({ hasText: 'Votre demande n’a pas été enregistrée' });
    await alert.getByText('Cette application n’existe pas dans le catalogue.').waitFor();
    expectFrench(await alert.textContent());
    expect(await alert.textContent()).not.toContain('appli-retiree');
  });

  it('a server without Android says what to do, in French only', async () => {
    const it = await pageFor('it.interieur', '#/informatique/enrolement');
    await it.getByRole('button', { name: 'Créer un jeton d’enrôlement' }).click();
    const alert = it.getByRole('alert').filter({ hasText: 'Jeton non créé' });
    await alert.getByText(/^Android n’est pas configuré : /).waitFor();
    expectFrench(await alert.textContent());
  });

  it('a refused field is named in French with its rule', async () => {
    const it = await pageFor('it.interieur', '#/informatique/appareils');
    await it.getByLabel('Rechercher un appareil').waitFor();
    // The box holds 100 characters at most in the API: a longer search is refused by the API's rule.
    await it.route(
      (url) => url.pathname.endsWith('/devices') && url.searchParams.has('q'),
      (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('q', 'x'.repeat(101));
        return route.continue({ url: url.toString() });
      },
    );
    await it.getByLabel('Rechercher un appareil').fill('pixel');
    const alert = it.getByRole('alert').first();
    await alert.getByText('« Recherche » doit compter au plus 100 caractères.').waitFor();
    expectFrench(await alert.textContent());
  });
});
