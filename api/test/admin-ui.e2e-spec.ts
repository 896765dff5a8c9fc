/**
 * The admin interface in a real browser (Debian's chromium driven by playwright-core), against the real
 * API, database, worker and OIDC provider: what the four kinds of users do, end to end.
 */
import { readFileSync } from 'node:fs';
import { Browser, BrowserContext, Page } from 'playwright-core';
import {
  ensureAdminUiBuilt,
  focused,
  launchChromium,
  saveScreenshot,
  seriousAccessibilityViolations,
  signIn,
} from './support/browser';
import { UI_TEST_PORT } from './support/ports';
import { RecordingAdapter } from './support/recording-adapter';
import { startTestApp, TestApp } from './support/test-app';

jest.setTimeout(240_000);

const base = `http://127.0.0.1:${UI_TEST_PORT}`;
let t: TestApp;
let browser: Browser;
const contexts: BrowserContext[] = [];

interface EffectiveApp {
  app: string;
  name: string;
  action: string;
  exemptable: boolean;
  liftedBy?: unknown;
}
interface ExemptionView {
  app: { slug: string };
  status: string;
}

beforeAll(async () => {
  ensureAdminUiBuilt();
  // Phones that apply what they are sent, so that rollout progress moves as in real life.
  const adapters = { android: new RecordingAdapter('android'), ios: new RecordingAdapter('ios') };
  adapters.android.autoApply = adapters.ios.autoApply = true;
  t = await startTestApp({
    listen: true,
    port: UI_TEST_PORT,
    browserLogin: { publicUrl: base },
    worker: true,
    adapters,
  });
  browser = await launchChromium();
  await settleRollouts();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/**
 * The seeded policies' first rollouts run when the worker starts: let them finish, so that the
 * rollout IT starts in the scenario is the one that carries its change.
 */
async function settleRollouts(): Promise<void> {
  const admin = await t.as('admin.national');
  for (let i = 0; i < 120; i++) {
    const active = (await admin.get('/rollouts?active=true').expect(200)).body as unknown[];
    if (active.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the seeded rollouts did not finish within a minute');
}

/** A separate browser profile per person, as on separate machines. */
async function pageFor(login: string, hash: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await signIn(page, base, login, hash);
  return page;
}

/** An app the baseline blocks for this agent, open to exemption, with no request of theirs in flight. */
async function exemptableAppFor(login: string): Promise<EffectiveApp> {
  const as = await t.as(login);
  const policy = (await as.get('/agents/me/effective-policy').expect(200)).body as { apps: EffectiveApp[] };
  const mine = (await as.get('/me/exemptions').expect(200)).body as ExemptionView[];
  const busy = new Set(mine.filter((e) => e.status === 'pending' || e.status === 'approved').map((e) => e.app.slug));
  const app = policy.apps.find((a) => a.action === 'block' && a.exemptable && !a.liftedBy && !busy.has(a.app));
  if (!app) throw new Error(`the demo data gives ${login} no exemptable blocked app`);
  return app;
}

async function lockedAppFor(login: string): Promise<EffectiveApp> {
  const policy = (await (await t.as(login)).get('/agents/me/effective-policy').expect(200)).body as {
    apps: EffectiveApp[];
  };
  const app = policy.apps.find((a) => a.action === 'block' && !a.exemptable);
  if (!app) throw new Error(`the demo data blocks nothing without exemption for ${login}`);
  return app;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An app's tag on the agent's page: its name, possibly followed by its maximum exemption period. */
function appTag(name: string): RegExp {
  return new RegExp(`^${escapeRegExp(name)}( \\(\\d+ j\\. au plus\\))?$`);
}

async function expectAccessible(page: Page, home: string): Promise<void> {
  const violations = await seriousAccessibilityViolations(page);
  expect({ home, violations }).toEqual({ home, violations: [] });
}

describe('admin interface in a real browser', () => {
  const justification = `Animation du compte officiel pour la communication de crise (${Date.now()})`;

  it('an agent requests an exemption, an approver of the same ministry grants it, the agent sees it active and the app lifted', async () => {
    const app = await exemptableAppFor('agent.interieur');

    const agent = await pageFor('agent.interieur', '#/agent/appareils');
    await agent.getByRole('heading', { level: 1, name: 'Mon espace agent' }).waitFor();
    const exemptable = agent.getByRole('region', { name: /^Bloquées, dérogation possible/ }).first();
    await exemptable.getByText(appTag(app.name)).waitFor();
    await saveScreenshot(agent, 'agent-home');
    await expectAccessible(agent, 'agent');

    // The form validates before sending, next to the field, in French.
    await agent.goto(`${base}/#/agent/derogation`);
    await agent.getByLabel('Application').first().selectOption(app.app);
    await agent.getByLabel('Justification').fill('trop court');
    await agent.getByRole('button', { name: 'Envoyer la demande' }).click();
    await agent.getByText(/Expliquez le besoin institutionnel en 20 caractères au moins/).waitFor();
    // The API's refusal comes back in French at the top of the form, and nothing is sent twice.
    const locked = await lockedAppFor('agent.interieur');
    await agent.getByLabel('Application').first().selectOption(locked.app);
    await agent.getByLabel('Justification').fill(justification);
    await agent.getByRole('button', { name: 'Envoyer la demande' }).click();
    const refusal = agent.getByRole('alert').filter({ hasText: 'Votre demande n’a pas été enregistrée' });
    await refusal.getByText('Cette application est bloquée par une règle qui n’admet aucune dérogation.').waitFor();
    await agent.getByLabel('Application').first().selectOption(app.app);
    await agent.getByLabel('Durée demandée (en jours)').fill('30');
    await agent.getByRole('button', { name: 'Envoyer la demande' }).click();
    await agent.getByText(`Votre demande de dérogation pour ${app.name} a été transmise`).waitFor();

    await agent.goto(`${base}/#/agent/demandes`);
    const row = agent.getByRole('row', { name: new RegExp(app.name) }).first();
    await row.getByText('En attente').waitFor();

    // The digital directorate of another ministry never sees it.
    const elsewhere = await pageFor('approver.armees', '#/validation/file');
    await elsewhere.getByRole('heading', { level: 1, name: 'Validation des dérogations' }).waitFor();
    await elsewhere
      .getByText(/demandes? en attente|Aucune demande en attente/)
      .first()
      .waitFor();
    expect(await elsewhere.getByText(justification).count()).toBe(0);

    // The directorate of the agent's ministry approves it from its queue.
    const approver = await pageFor('approver.interieur', '#/validation/file');
    const request = approver.getByRole('article').filter({ hasText: justification });
    await request.waitFor();
    await saveScreenshot(approver, 'approver-home');
    await expectAccessible(approver, 'approver');
    await request.getByRole('button', { name: 'Approuver' }).click();
    await approver.getByText(`Dérogation accordée : ${app.name}`).waitFor();
    await request.waitFor({ state: 'detached' }); // out of the queue once decided
    // Granted for the 30 days asked: it shows among those ending within the month.
    await approver.goto(`${base}/#/validation/echeances`);
    await approver.getByRole('row', { name: new RegExp(`${app.name}.*(30|29) jours`) }).waitFor();

    // The agent sees the request approved and the app lifted on their phone's policy.
    await agent.goto(`${base}/#/agent/demandes`);
    await agent.reload();
    await agent
      .getByRole('row', { name: new RegExp(app.name) })
      .first()
      .getByText('Approuvée')
      .waitFor();
    await agent.goto(`${base}/#/agent/appareils`);
    await agent.reload();
    const lifted = agent.getByRole('region', { name: /^Autorisées par une dérogation/ }).first();
    await lifted.getByText(`${app.name} — jusqu’au`, { exact: false }).waitFor();
    expect(
      await agent
        .getByRole('region', { name: /^Bloquées, dérogation possible/ })
        .first()
        .getByText(appTag(app.name))
        .count(),
    ).toBe(0);
  });

  it('ministry IT adds a rule, reviews the plan, applies it in stages and follows the rollout', async () => {
    const it = await pageFor('it.interieur', '#/informatique/politique');
    await it.getByRole('heading', { level: 1, name: 'Politique et parc du ministère' }).waitFor();
    await it.getByRole('button', { name: 'Prévisualiser' }).waitFor();
    await saveScreenshot(it, 'it-home');
    await expectAccessible(it, 'it');

    // An app nobody blocks yet: the catalog minus what the ministry's effective policy already rules.
    const as = await t.as('it.interieur');
    const effective = (await as.get('/ministries/interieur/effective-policy').expect(200)).body as {
      apps: EffectiveApp[];
    };
    const catalog = (await as.get('/catalog/apps').expect(200)).body as { slug: string; name: string }[];
    const ruled = new Set(effective.apps.map((a) => a.app));
    const target = catalog.find((a) => !ruled.has(a.slug));
    if (!target) throw new Error('every catalog app is already ruled for interieur');

    const form = it.locator('form').filter({ hasText: 'Ajouter une règle du ministère' });
    await form.getByLabel('Application').selectOption(target.slug);
    await form.getByLabel('Règle').selectOption('block');
    await form.getByRole('button', { name: 'Ajouter la règle' }).click();
    await it.getByLabel('Commentaire de version (facultatif)').fill('Note de service 2026-42');
    await it.getByRole('button', { name: 'Prévisualiser' }).click();

    await it.getByRole('heading', { name: 'Prévisualisation' }).waitFor();
    await it.getByText(/appareils? concernés? sur/).waitFor();
    expect(await it.getByLabel('Texte du plan').textContent()).toContain(target.slug);
    // The plan in French, from its structure: one row per platform, the app by its name.
    const rows = it.getByRole('row').filter({ hasText: target.name }).filter({ hasText: 'Ajout' });
    await rows.first().getByText('bloquée, sans dérogation possible', { exact: true }).waitFor();
    expect(await it.getByRole('table').filter({ hasText: target.name }).textContent()).not.toMatch(
      /blocked|exemptable|device\(s\)/,
    );
    await expectAccessible(it, 'plan preview');

    // A wrong staging is refused in French next to the field; a right one applies.
    const stages = it.getByLabel('Déploiement progressif (facultatif)');
    await stages.fill('50, 20');
    await it.getByRole('button', { name: 'Appliquer' }).click();
    await it.getByText(/pourcentages croissants/).waitFor();
    await stages.fill('50, 100');
    await it.getByRole('button', { name: 'Appliquer' }).click();
    await it.getByText(/Changement appliqué ; déploiement progressif par étapes de 50 %, 100 %/).waitFor();

    // The new version is there, then the rollout's first stage converges (the worker pushes it).
    await it.goto(`${base}/#/informatique/deploiements`);
    await it.getByRole('heading', { name: /Déploiement « interieur »/ }).waitFor();
    // The page refreshes itself: the first half of the phones report the new policy applied, the rest wait.
    await it.getByText(/^Étape 1 \(50 %\) — \d+ au total : [1-9][\d\s]* appliqués/).waitFor({ timeout: 60_000 });
    await it.getByText(/^Étape 2 \(100 %\), non libérée — [1-9][\d\s]* au total : 0 appliqués/).waitFor();
    const version = (await as.get('/policies/interieur').expect(200)).body as { content: { rules: { app: string }[] } };
    expect(version.content.rules.map((r) => r.app)).toContain(target.slug);
    await saveScreenshot(it, 'it-rollout');
  });

  it('works from the keyboard: skip link first, then the tabs, and the request form sends with Enter', async () => {
    const agent = await pageFor('agent.culture', '#/agent/appareils');
    await agent.getByRole('heading', { level: 1, name: 'Mon espace agent' }).waitFor();
    await agent.keyboard.press('Tab');
    expect((await focused(agent)).text).toBe('Contenu');
    await agent.keyboard.press('Enter');
    expect((await focused(agent)).id).toBe('contenu');
    // Tab moves on to the section tabs; the arrow key selects the next one, as DSFR tabs do.
    for (let i = 0; i < 10 && (await focused(agent)).role !== 'tab'; i++) await agent.keyboard.press('Tab');
    expect((await focused(agent)).text).toBe('Mes appareils');
    // DSFR's script handles the arrow keys once it has started: retry until the focus moves.
    for (let i = 0; i < 20 && (await focused(agent)).text === 'Mes appareils'; i++) {
      await agent.keyboard.press('ArrowRight');
      await agent.waitForTimeout(250);
    }
    expect((await focused(agent)).text).toBe('Demander une dérogation');
    await agent.keyboard.press('Enter');
    await agent.getByRole('button', { name: 'Envoyer la demande' }).waitFor();
    // Empty form sent with Enter from the justification: every problem is said next to its field.
    await agent.getByLabel('Justification').focus();
    await agent.keyboard.press('Tab');
    await agent.keyboard.press('Enter');
    await agent.getByText('Choisissez l’application concernée.').waitFor();
    await agent.getByText(/Expliquez le besoin institutionnel/).waitFor();
  });

  it('a national administrator sees the national dashboard, and each home passes axe-core', async () => {
    const national = await pageFor('admin.national', '#/national/tableau-de-bord');
    await national.getByRole('heading', { level: 1, name: 'Administration nationale' }).waitFor();
    await national.getByRole('table').first().waitFor();
    await saveScreenshot(national, 'national-home');
    await expectAccessible(national, 'national');
  });
});

describe('each role at home, and the pages around', () => {
  it('lands each role on its own home (not the agent space), with the ministry named and the queue counted', async () => {
    const ministries = (await (await t.as('agent.interieur')).get('/ministries').expect(200)).body as {
      code: string;
      name: string;
    }[];
    const interieur = ministries.find((m) => m.code === 'interieur')?.name;
    expect(interieur).toBeDefined();
    expect(interieur).not.toBe('interieur');
    const homes: [string, string][] = [
      ['agent.interieur', 'Mon espace agent'],
      ['approver.interieur', 'Validation des dérogations'],
      ['it.interieur', 'Politique et parc du ministère'],
      ['admin.national', 'Administration nationale'],
    ];
    for (const [login, heading] of homes) {
      const page = await pageFor(login, '#/');
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      expect({
        login,
        agentHome: await page.getByRole('heading', { level: 1, name: 'Mon espace agent' }).count(),
      }).toEqual({ login, agentHome: heading === 'Mon espace agent' ? 1 : 0 });
      if (login === 'approver.interieur' || login === 'it.interieur')
        await page.getByText(`Ministère : ${interieur}`, { exact: true }).waitFor();
      await page.close();
    }

    // The approver's queue says how many wait, in its tab and in the menu.
    const pending = (
      (await (await t.as('approver.interieur')).get('/ministries/interieur/exemptions?limit=1').expect(200)).body as {
        total: number;
      }
    ).total;
    const approver = await pageFor('approver.interieur', '#/');
    await approver.getByRole('tab', { name: `Demandes en attente (${pending})` }).waitFor();
    if (pending > 0)
      await approver
        .getByRole('navigation', { name: 'Menu principal' })
        .getByRole('link', { name: new RegExp(`Validation des dérogations\\s*${pending}\\s*demandes? à examiner`) })
        .waitFor();
  });

  it('says "accès refusé" on a page the role may not see, instead of showing another page', async () => {
    const agent = await pageFor('agent.interieur', '#/validation/file');
    await agent.getByRole('heading', { level: 1, name: 'Accès refusé' }).waitFor();
    await agent.getByText(/réservée au rôle valideur/).waitFor();
    expect(await agent.getByRole('heading', { level: 1, name: 'Mon espace agent' }).count()).toBe(0);
    expect(await agent.title()).toMatch(/^Accès refusé/);
    await expectAccessible(agent, 'accès refusé');
    await agent.goto(`${base}/#/national/roles`);
    await agent.getByRole('heading', { level: 1, name: 'Accès refusé' }).waitFor();
    await agent.getByRole('link', { name: 'Retour à « Mon espace agent »' }).click();
    await agent.getByRole('heading', { level: 1, name: 'Mon espace agent' }).waitFor();
    await agent.goto(`${base}/#/nulle-part`);
    await agent.getByRole('heading', { level: 1, name: 'Page introuvable' }).waitFor();

    const approver = await pageFor('approver.interieur', '#/national/roles');
    await approver.getByRole('heading', { level: 1, name: 'Accès refusé' }).waitFor();
  });

  it('opens the page a notification links to: the decision bell, then the request itself, not the API’s JSON', async () => {
    const app = await exemptableAppFor('presse.interieur');
    const requested = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: app.app, justification: 'Veille des réseaux sociaux pour la cellule presse du ministère', days: 20 })
      .expect(201);
    const id = requested.body.id as string;
    await (await t.as('approver.interieur')).post(`/exemptions/${id}/approve`).send({}).expect(200);
    const notes = (await (await t.as('presse.interieur')).get('/me/notifications?unread=true').expect(200)).body as {
      link: string;
    }[];
    const link = notes.map((n) => n.link).find((l) => l?.includes(id));
    // The stored link is a page of the interface (after `#`), wherever PUBLIC_URL puts it.
    expect(link).toMatch(new RegExp(`^http://localhost:3000/#/exemptions/${id}$`));

    const agent = await pageFor('presse.interieur', '#/agent/appareils');
    const bell = agent.getByRole('link', { name: /^Notifications \(\d+ non lues?\)$/ });
    await bell.click();
    await agent.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    await expectAccessible(agent, 'notifications');
    const item = agent.getByRole('listitem').filter({ hasText: `Dérogation accordée` }).filter({ hasText: app.name });
    await item.first().getByRole('link', { name: 'Ouvrir' }).click();
    await agent.waitForURL((url) => url.hash === `#/exemptions/${id}`);
    await agent.getByRole('heading', { level: 1, name: new RegExp(`Dérogation pour ${app.name}`) }).waitFor();
    await agent.getByRole('heading', { level: 1 }).getByText('Approuvée').waitFor();
    await agent.getByText('Veille des réseaux sociaux pour la cellule presse du ministère').waitFor();
    await expectAccessible(agent, 'exemption page');

    // The approver of the ministry opens the same link and sees the request; another ministry's is refused.
    const approver = await pageFor('approver.interieur', `#/exemptions/${id}`);
    await approver.getByRole('heading', { level: 1, name: new RegExp(`Dérogation pour ${app.name}`) }).waitFor();
    const stranger = await pageFor('approver.armees', `#/exemptions/${id}`);
    await stranger.getByText('Accès refusé').first().waitFor();
    expect(await stranger.getByText('Veille des réseaux sociaux').count()).toBe(0);
    // The digest's link opens the queue of the ministry it names.
    const digest = await pageFor('approver.interieur', '#/validation/file?ministere=interieur');
    await digest.getByRole('tab', { name: /^Demandes en attente/, selected: true }).waitFor();
  });

  it('exports the register as French Excel reads it: `;`, UTF-8 BOM, Paris time', async () => {
    const approver = await pageFor('approver.interieur', '#/validation/registre');
    const link = approver.getByRole('link', { name: /Exporter le registre \(CSV\)/ });
    await link.waitFor();
    const [download] = await Promise.all([approver.waitForEvent('download'), link.click()]);
    const path = await download.path();
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    const [header, ...rows] = text.trimEnd().split('\r\n');
    expect(header.split(';')).toEqual([
      'agent',
      'email',
      'application',
      'slug',
      'appareil',
      'justification',
      'accordée par',
      'accordée le (heure de Paris)',
      "valable jusqu'au (heure de Paris)",
      'identifiant',
    ]);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatch(/;\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2};[0-9a-f-]{36}$/);
  });

  it('has the DSFR footer’s mandatory links and an accessibility statement, readable signed out', async () => {
    const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 390, height: 844 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/#/`);
    const footer = page.getByRole('contentinfo');
    for (const name of [/Accessibilité : non conforme/, /Mentions légales/, /Données personnelles/])
      await footer.getByRole('link', { name }).waitFor();
    await footer.getByRole('link', { name: /Accessibilité : non conforme/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Déclaration d’accessibilité' }).waitFor();
    await page.getByRole('heading', { name: 'Voies de recours' }).waitFor();
    await expectAccessible(page, 'accessibility statement');
    await footer.getByRole('link', { name: /Données personnelles/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Données personnelles' }).waitFor();
    await footer.getByRole('link', { name: /Mentions légales/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Mentions légales' }).waitFor();
  });
});

describe('enrolment on a server without platform connectors', () => {
  it('says Android (or Apple) is not configured, instead of 404 "Cannot POST"', async () => {
    const it = await pageFor('it.interieur', '#/informatique/enrolement');
    await it.getByRole('button', { name: 'Créer un jeton d’enrôlement' }).click();
    const android = it.getByRole('alert').filter({ hasText: 'Jeton non créé' });
    await android.getByText(/^Android n’est pas configuré : /).waitFor();
    expect(await android.textContent()).not.toContain('Cannot POST');
    await it.getByRole('button', { name: 'Créer un lien d’enrôlement' }).click();
    await it
      .getByRole('alert')
      .filter({ hasText: 'Lien non créé' })
      .getByText(/^Les iPhone ne sont pas configurés : /)
      .waitFor();
    await expectAccessible(it, 'enrolment');
  });
});

describe('the approver’s queue and the roles page, at size', () => {
  it('filters the queue by status, app and age, and pages through it by the API’s cursor', async () => {
    const [agent] = (await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-agent-economie'`)) as { id: string }[];
    const [app] = (await t.db.query(`SELECT slug, name FROM app ORDER BY slug DESC LIMIT 1`)) as {
      slug: string;
      name: string;
    }[];
    // 45 refused requests for one app, 12 of them older than a month.
    await t.db.query(
      `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at,
                              decision_reason, decided_at)
       SELECT $1, 'economie', $2, 'Demande de test n° ' || i, 30, 'denied',
              now() - make_interval(days => CASE WHEN i <= 12 THEN 40 ELSE 1 END, secs => i),
              'Besoin non établi', now()
       FROM generate_series(1, 45) i`,
      [agent.id, app.slug],
    );
    const approver = await pageFor('approver.economie', '#/validation/file');
    await approver.getByRole('heading', { level: 1, name: 'Validation des dérogations' }).waitFor();
    const filters = approver.getByRole('form', { name: 'Filtrer les demandes' });
    await filters.getByLabel('Statut').selectOption('denied');
    await filters.getByLabel('Application').selectOption(app.slug);
    await approver.getByText('45 demandes refusées, de la plus ancienne à la plus récente — page 1 sur 3.').waitFor();
    await expectAccessible(approver, 'queue, filtered');
    const seen = new Set<string>();
    const collect = async () => {
      const titles = await approver.getByRole('article').getByRole('heading').allTextContents();
      for (const t of titles) expect(t).toContain(app.name);
      const bodies = await approver.getByRole('article').locator('blockquote').allTextContents();
      for (const b of bodies) seen.add(b.trim());
      return bodies.length;
    };
    expect(await collect()).toBe(20);
    const next = approver.getByRole('button', { name: 'Page suivante' });
    await next.click();
    await approver.getByText(/— page 2 sur 3\./).waitFor();
    expect(await collect()).toBe(20);
    await next.click();
    await approver.getByText(/— page 3 sur 3\./).waitFor();
    expect(await collect()).toBe(5);
    expect(await next.isDisabled()).toBe(true);
    // Every request once, none twice.
    expect(seen.size).toBe(45);
    await approver.getByRole('button', { name: 'Page précédente' }).click();
    await approver.getByText(/— page 2 sur 3\./).waitFor();
    // Age: only those waiting for more than 30 days; a new filter starts again at the first page.
    await filters.getByLabel('Ancienneté de la demande').selectOption('30');
    await approver.getByText('12 demandes refusées, de la plus ancienne à la plus récente.').waitFor();
    expect(await approver.getByRole('article').count()).toBe(12);
  });

  it('searches the roles page and asks before removing a role', async () => {
    const admin = await t.as('admin.national');
    const [presse] = (await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-presse-interieur'`)) as {
      id: string;
    }[];
    await admin.post(`/agents/${presse.id}/roles`).send({ role: 'it-admin', ministry: 'interieur' }).expect(201);
    const roles = async () =>
      ((await admin.get(`/agents/${presse.id}`).expect(200)).body as { roles: { role: string }[] }).roles.map(
        (r) => r.role,
      );
    expect(await roles()).toContain('it-admin');

    const national = await pageFor('admin.national', '#/national/roles');
    await national.getByLabel('Ministère').selectOption('interieur');
    await national.getByLabel(/Rechercher un agent/).fill('lea bernard');
    await national.getByRole('table', { name: /correspondant à « lea bernard » \(1 sur \d+\)/ }).waitFor();
    expect(await national.getByRole('table').getByRole('row').count()).toBe(2); // header + Léa
    await expectAccessible(national, 'roles, searched');

    const remove = national.getByRole('button', { name: 'Retirer le rôle Administrateur informatique à Léa Bernard' });
    await remove.click();
    const confirm = national.getByRole('alertdialog', { name: /Retirer le rôle Administrateur informatique/ });
    await confirm.waitFor();
    expect((await focused(national)).role).toBe('alertdialog');
    await confirm.getByRole('button', { name: 'Annuler' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(await roles()).toContain('it-admin'); // nothing happened
    await remove.click();
    await confirm.getByRole('button', { name: 'Retirer le rôle' }).click();
    await national.getByText('Rôle Administrateur informatique retiré à Léa Bernard.').waitFor();
    expect(await roles()).not.toContain('it-admin');
  });
});

describe('the agent’s phone page on a phone', () => {
  it('fits 390 px in under 3 screens, says each legal basis once, and cites the binding one', async () => {
    // Signed in on a wide screen (the DSFR header folds "Se déconnecter" into its menu on a phone), then a phone's width.
    const agent = await pageFor('agent.interieur', '#/agent/appareils');
    await agent.setViewportSize({ width: 390, height: 844 });
    await agent.reload();
    const locked = agent.getByRole('region', { name: /^Bloquées, sans dérogation possible/ }).first();
    await locked.waitFor();
    await saveScreenshot(agent, 'agent-devices-390');
    const size = (await agent.evaluate(
      '({ height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth })',
    )) as { height: number; width: number };
    expect(size.width).toBeLessThanOrEqual(390); // nothing wider than the phone: no sideways scrolling
    expect(size.height).toBeLessThan(3 * 844);

    // Each text that decides is written once per listing, numbered, not once per app (nor per kind).
    const listing = agent.getByRole('region', { name: /^(Votre téléphone|Vos \d+ téléphones|Règles de)/ }).first();
    const texts = await listing
      .getByRole('region', { name: 'Textes de référence' })
      .getByRole('listitem')
      .allTextContents();
    expect(texts.length).toBeGreaterThan(0);
    expect(new Set(texts).size).toBe(texts.length);

    // Telegram at the Interior: the HFDS note that forbids any exemption, not the directive that allows them.
    const telegram = locked.locator('div').filter({ has: agent.getByText(/^Telegram$/) });
    const ref = await telegram.getByRole('link', { name: /^texte n° \d+$/ }).getAttribute('href');
    expect(ref).toMatch(/^#/);
    const binding = await agent.locator(`[id="${(ref as string).slice(1)}"]`).textContent();
    expect(binding).toMatch(/^Note du haut fonctionnaire de défense et de sécurité/);
    await expectAccessible(agent, 'agent devices at 390 px');
  });
});

describe('rollout controls', () => {
  it('pauses (with its reason), resumes and aborts a staged rollout from the page, and keeps it in the history', async () => {
    const it = await t.as('it.armees');
    const current = (await it.get('/policies/armees').expect(200)).body as {
      mode: string;
      content?: { mode: string; rules: { app: string }[] };
    };
    const content = current.content ?? { mode: current.mode, rules: [] };
    const effective = (await it.get('/ministries/armees/effective-policy').expect(200)).body as {
      apps: EffectiveApp[];
    };
    const catalog = (await it.get('/catalog/apps').expect(200)).body as { slug: string }[];
    const ruled = new Set(effective.apps.map((a) => a.app));
    const target = catalog.find((a) => !ruled.has(a.slug));
    if (!target) throw new Error('every catalog app is already ruled for armees');
    const comment = `Contrôles de déploiement ${Date.now()}`;
    const plan = await it.post('/policies/armees/plan').send({
      mode: content.mode,
      rules: [...content.rules, { app: target.slug, action: 'block', exemptable: false }],
      comment,
    });
    expect({ status: plan.status, body: plan.body as unknown }).toMatchObject({ status: 201 });
    await it
      .post(`/policy-plans/${plan.body.id}/apply`)
      .send({ stages: [50, 100], stageWaitMinutes: 600 })
      .expect(200);
    let rollout: { id: string; status: string; scope: string } | undefined;
    for (let i = 0; i < 60 && rollout?.status !== 'running'; i++) {
      const active = (await it.get('/rollouts?active=true').expect(200)).body as {
        id: string;
        status: string;
        scope: string;
      }[];
      rollout = active.find((r) => r.scope === 'armees');
      if (rollout?.status !== 'running') await new Promise((r) => setTimeout(r, 500));
    }
    if (!rollout || rollout.status !== 'running') throw new Error('the armees rollout did not start');
    const status = async () =>
      ((await it.get(`/rollouts/${rollout.id}`).expect(200)).body as { status: string }).status;

    const page = await pageFor('it.armees', '#/informatique/deploiements');
    await page
      .getByRole('row')
      .filter({ hasText: 'armees' })
      .getByRole('button', { name: 'Voir l’avancement' })
      .first()
      .click();
    await page.getByRole('heading', { name: /Déploiement « armees »/ }).waitFor();
    await expectAccessible(page, 'rollouts');

    await page.getByLabel('Motif (facultatif, consigné au journal)').fill('Incident signalé par le support');
    await page.getByRole('button', { name: 'Mettre en pause' }).click();
    await page.getByText('Déploiement mis en pause.').waitFor();
    expect(await status()).toBe('paused');
    await page.getByText(/en pause : Incident signalé par le support/).waitFor();

    await page.getByRole('button', { name: 'Reprendre' }).click();
    await page.getByText('Déploiement repris.').waitFor();
    expect(await status()).not.toBe('paused');

    await page.getByRole('button', { name: 'Abandonner le déploiement' }).click();
    await page.getByRole('button', { name: 'Confirmer l’abandon' }).click();
    await page.getByText(/^Déploiement abandonné/).waitFor();
    expect(await status()).toBe('aborted');
    await page
      .getByRole('table', { name: 'Derniers déploiements terminés' })
      .getByRole('row')
      .filter({ hasText: 'armees' })
      .filter({ hasText: 'Interrompu' })
      .first()
      .waitFor();
  });
});

describe('axe on every page', () => {
  const pages: [string, string[]][] = [
    ['agent.interieur', ['#/agent/appareils', '#/agent/derogation', '#/agent/demandes', '#/notifications']],
    ['approver.interieur', ['#/validation/file', '#/validation/registre', '#/validation/echeances', '#/conformite']],
    [
      'it.interieur',
      [
        '#/informatique/politique',
        '#/informatique/versions',
        '#/informatique/deploiements',
        '#/informatique/appareils',
        '#/informatique/enrolement',
      ],
    ],
    [
      'admin.national',
      [
        '#/national/tableau-de-bord',
        '#/national/socle',
        '#/national/catalogue',
        '#/national/roles',
        '#/accessibilite',
        '#/mentions-legales',
        '#/donnees-personnelles',
      ],
    ],
  ];

  it.each(pages)(
    '%s: no serious or critical violation on any of its pages, at 1280 and 390 px',
    async (login, routes) => {
      const page = await pageFor(login, routes[0]);
      const found: { route: string; violations: unknown[] }[] = [];
      for (const route of routes) {
        await page.goto(`${base}/${route}`);
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        // Every section has loaded (no "Chargement…" left): axe reads the page a person reads.
        const loading = page.locator('main [role=status]', { hasText: /^Chargement/ });
        for (let i = 0; i < 120 && (await loading.count()) > 0; i++) await page.waitForTimeout(250);
        // On a wide screen, then at a phone's width (tables scroll sideways there: they must take the focus).
        for (const width of [1280, 390]) {
          await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
          const violations = await seriousAccessibilityViolations(page);
          if (violations.length > 0) found.push({ route: `${route} at ${width} px`, violations });
        }
        await page.setViewportSize({ width: 1280, height: 900 });
      }
      expect(found).toEqual([]);
    },
  );
});

describe('the expiry reminder’s link', () => {
  it('opens the exemption with its renewal first, and renews in one click', async () => {
    const app = await exemptableAppFor('agent.economie');
    const requested = await (
      await t.as('agent.economie')
    )
      .post('/exemptions')
      .send({ app: app.app, justification: 'Suivi des comptes officiels du ministère pendant la crise', days: 60 })
      .expect(201);
    const id = requested.body.id as string;
    await (await t.as('approver.economie')).post(`/exemptions/${id}/approve`).send({}).expect(200);
    await t.db.query(`UPDATE exemption SET valid_until = now() + interval '10 days' WHERE id = $1`, [id]);

    const agent = await pageFor('agent.economie', `#/exemptions/${id}?renew=1`);
    await agent
      .getByRole('heading', { level: 1, name: new RegExp(`Dérogation pour ${escapeRegExp(app.name)}`) })
      .waitFor();
    await agent.getByText('Cette dérogation arrive à échéance').waitFor();
    await expectAccessible(agent, 'exemption page, renewal');
    await agent.getByRole('button', { name: 'Demander le renouvellement' }).click();
    await agent.getByText(`Demande de renouvellement pour ${app.name} envoyée.`).waitFor();
    const mine = (await (await t.as('agent.economie')).get('/me/exemptions').expect(200)).body as {
      status: string;
      renewalOf: string | null;
    }[];
    expect(mine.filter((e) => e.renewalOf === id && e.status === 'pending')).toHaveLength(1);
  });
});

describe('the plan of a rollback', () => {
  it('offers to cancel the rollback, not to go back to an edit there never was', async () => {
    const as = await t.as('it.culture');
    const current = (await as.get('/policies/culture').expect(200)).body as {
      mode: string;
      content?: { mode: string; rules: { app: string }[] };
    };
    const content = current.content ?? { mode: current.mode, rules: [] };
    const catalog = (await as.get('/catalog/apps').expect(200)).body as { slug: string }[];
    const effective = (await as.get('/ministries/culture/effective-policy').expect(200)).body as {
      apps: EffectiveApp[];
    };
    const ruled = new Set(effective.apps.map((a) => a.app));
    const target = catalog.find((a) => !ruled.has(a.slug));
    if (!target) throw new Error('every catalog app is already ruled for culture');
    // A newer version, so that there is one to go back to.
    const plan = await as
      .post('/policies/culture/plan')
      .send({ mode: content.mode, rules: [...content.rules, { app: target.slug, action: 'block', exemptable: false }] })
      .expect(201);
    await as.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);

    const it = await pageFor('it.culture', '#/informatique/versions');
    await it.getByRole('button', { name: 'Revenir à cette version' }).first().click();
    await it.getByRole('button', { name: /^Prévisualiser le retour à la version \d+$/ }).click();
    await it.getByRole('heading', { name: /^Retour à la version \d+ : changements à appliquer$/ }).waitFor();
    await it.getByRole('heading', { name: 'Prévisualisation' }).waitFor();
    expect(await it.getByRole('button', { name: 'Revenir à l’édition' }).count()).toBe(0);
    await expectAccessible(it, 'rollback plan');
    await it.getByRole('button', { name: 'Annuler le retour arrière' }).click();
    await it.getByRole('button', { name: 'Revenir à cette version' }).first().waitFor();
    // Previewed, not applied: the version in force is still the new one.
    const after = (await as.get('/policies/culture').expect(200)).body as { version: number };
    expect(after.version).toBe(
      ((await as.get('/policies/culture/versions').expect(200)).body as { version: number }[]).reduce(
        (max, v) => Math.max(max, v.version),
        0,
      ),
    );
  });
});
