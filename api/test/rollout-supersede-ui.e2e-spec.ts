/**
 * Rollback in a real browser during a staged rollout: IT previews the rollback plan (devices
 * concerned), applies it in stages, and the interrupted rollout shows "Remplacé", none left running.
 * Own dev provider on a free port, so that it never meets admin-ui.e2e-spec.ts on its fixed port.
 */
import { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureAdminUiBuilt, launchChromium, seriousAccessibilityViolations, signIn } from './support/browser';
import { DEV_IDP_DEFAULT_REDIRECT_URIS, DevIdp, startDevIdp } from './support/dev-idp';
import { RecordingAdapter } from './support/recording-adapter';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

jest.setTimeout(240_000);

let provider: DevIdp | undefined;
let t: TestApp;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];

interface RolloutRow {
  id: string;
  scope: string;
  status: string;
  supersededBy: string | null;
  createdAt: string;
}

async function rollouts(active: boolean): Promise<RolloutRow[]> {
  const it = await t.as('it.culture');
  return (await it.get(active ? '/rollouts?active=true' : '/rollouts').expect(200)).body as RolloutRow[];
}

/** Polls the API (the worker runs in the background) until `check` holds. */
async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 120; i++) {
    const v = await read();
    if (check(v)) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within a minute`);
}

beforeAll(async () => {
  ensureAdminUiBuilt();
  const adapters = { android: new RecordingAdapter('android'), ios: new RecordingAdapter('ios') };
  adapters.android.autoApply = adapters.ios.autoApply = true;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startDevIdp({ redirectUris: [...DEV_IDP_DEFAULT_REDIRECT_URIS, `${base}/auth/callback`] });
  const saved = process.env.TEST_OIDC_ISSUER;
  process.env.TEST_OIDC_ISSUER = provider.issuer;
  try {
    t = await startTestApp({ listen: true, port, browserLogin: { publicUrl: base }, worker: true, adapters });
  } finally {
    process.env.TEST_OIDC_ISSUER = saved;
  }
  browser = await launchChromium();
  await until(
    'the seeded rollouts',
    () => rollouts(true),
    (list) => list.length === 0,
  );
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

describe('rollback from the versions page during a staged rollout', () => {
  it('previews the devices concerned, applies in stages, and the interrupted rollout shows "Remplacé"', async () => {
    const it = await t.as('it.culture');
    const current = (await it.get('/policies/culture').expect(200)).body as {
      version: number;
      content: { mode: string; rules: { app: string }[] };
    };
    const effective = (await it.get('/ministries/culture/effective-policy').expect(200)).body as {
      apps: { app: string }[];
    };
    const ruled = new Set(effective.apps.map((a) => a.app));
    const target = ((await it.get('/catalog/apps').expect(200)).body as { slug: string }[]).find(
      (a) => !ruled.has(a.slug),
    );
    if (!target) throw new Error('every catalog app is already ruled for culture');
    const plan = await it
      .post('/policies/culture/plan')
      .send({
        ...current.content,
        rules: [...current.content.rules, { app: target.slug, action: 'block', exemptable: false }],
      })
      .expect(201);
    const devices = plan.body.plan.summary.devicesAffected as number;
    expect(devices).toBeGreaterThan(0);
    const applied = await it
      .post(`/policy-plans/${plan.body.id}/apply`)
      .send({ stages: [10, 100], stageWaitMinutes: 600 })
      .expect(200);
    const staged = applied.body.applied[0].rolloutId as string;
    await until(
      'the staged rollout',
      () => rollouts(true),
      (list) => list.some((r) => r.id === staged && r.status === 'running'),
    );

    const page = await pageFor('it.culture', '#/informatique/versions');
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: String(current.version), exact: true }) });
    await row.getByRole('button', { name: 'Revenir à cette version' }).click();
    await row.getByRole('button', { name: `Prévisualiser le retour à la version ${current.version}` }).click();
    await page
      .getByRole('heading', { name: `Retour à la version ${current.version} : changements à appliquer` })
      .waitFor();
    // The preview: as many devices as the change being undone, and nothing changed yet.
    await page.getByText(new RegExp(`^${devices.toLocaleString('fr-FR')} appareils? concernés? sur`)).waitFor();
    expect((await it.get('/policies/culture').expect(200)).body.version).toBe(current.version + 1);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);

    await page.getByLabel('Déploiement progressif (facultatif)').fill('50, 100');
    await page.getByLabel('Attente entre deux étapes (minutes)').fill('600');
    await page.getByRole('button', { name: 'Appliquer' }).click();
    await page
      .getByText(/^Retour à la version \d+ : Changement appliqué ; déploiement progressif par étapes de 50 %, 100 %/)
      .waitFor();

    const now = (await it.get('/policies/culture').expect(200)).body;
    expect(now).toMatchObject({ version: current.version + 2, rolledBackFrom: current.version });
    const all = await rollouts(false);
    const old = all.find((r) => r.id === staged);
    const rollback = all.find((r) => r.scope === 'culture' && r.id !== staged && r.createdAt > (old?.createdAt ?? ''));
    expect(old).toMatchObject({ status: 'superseded', supersededBy: rollback?.id });
    // The rollback runs in its stages; the interrupted rollout is not among the active ones.
    const active = await until(
      'the rollback rollout',
      () => rollouts(true),
      (list) => list.some((r) => r.id === rollback?.id && r.status === 'running'),
    );
    expect(active.filter((r) => r.scope === 'culture').map((r) => r.id)).toEqual([rollback?.id]);
    const stages = (await it.get(`/rollouts/${rollback?.id}`).expect(200)).body as {
      stages: number[];
      stageIndex: number;
    };
    expect(stages).toMatchObject({ stages: [50, 100], stageIndex: 0 });

    await page.goto(`${base}/#/informatique/deploiements`);
    await page
      .getByRole('table', { name: 'Derniers déploiements terminés' })
      .getByRole('row')
      .filter({ hasText: 'Remplacé' })
      .filter({ hasText: `culture version ${current.version + 1}` })
      .first()
      .waitFor();
  });
});
