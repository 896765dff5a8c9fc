import axe from 'axe-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

const REPO_ROOT = resolve(__dirname, '../../..');

/** Debian's chromium when it is installed (or CHROMIUM_PATH); playwright's own browser downloads cannot work here. */
const SYSTEM_CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Where the run leaves what a person reviews afterwards: one screenshot per home. */
export const SCREENSHOTS_DIR = join(REPO_ROOT, 'test-results', 'screenshots');

/**
 * A machine with only Node.js has no system Chromium: the npm package @sparticuz/chromium ships
 * one (extracted to the temp folder on first use), with the fonts it needs for French text.
 */
async function chromiumExecutable(): Promise<{ path: string; args: string[] }> {
  if (existsSync(SYSTEM_CHROMIUM)) return { path: SYSTEM_CHROMIUM, args: FLAGS };
  const packaged = (await import('@sparticuz/chromium')).default;
  packaged.setGraphicsMode = false;
  // Not the package's own serverless flags: with --single-process, a fetch() from a second browser
  // context carries the first context's cookies, so two people signed in side by side would mix.
  return { path: await packaged.executablePath(), args: [...FLAGS, '--no-zygote'] };
}

export async function launchChromium(): Promise<Browser> {
  const { path, args } = await chromiumExecutable();
  return chromium.launch({ executablePath: path, args, headless: true });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The API serves admin-ui/dist: build it when it is missing or older than its sources (a fresh clone has none). */
export function ensureAdminUiBuilt(): void {
  const ui = join(REPO_ROOT, 'admin-ui');
  const index = join(ui, 'dist', 'index.html');
  const sources = Math.max(
    newestMtime(join(ui, 'src')),
    statSync(join(ui, 'index.html')).mtimeMs,
    statSync(join(ui, 'vite.config.ts')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      join(ui, 'vite.config.ts'),
      '--logLevel',
      'error',
    ],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  );
}

/** Signs in through the interface's own button and the provider's account picker; lands back on `hash`. */
export async function signIn(page: Page, base: string, login: string, hash = '#/'): Promise<void> {
  await page.goto(`${base}/${hash}`);
  await page.getByRole('main').getByRole('link', { name: 'Se connecter' }).click();
  await page.locator(`button[name="login"][value="${login}"]`).click();
  await page.waitForURL((url) => url.origin === base);
  await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core in the page, WCAG 2.1 A/AA rules; returns the serious and critical violations. */
export async function seriousAccessibilityViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, not a <script> tag: the page's Content-Security-Policy stays on.
  await page.evaluate(axe.source);
  // Written as page source: it runs in the browser, where `axe` and `document` exist.
  const found = await page.evaluate<AxeViolation[]>(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })))`);
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** The element that has the keyboard focus, as a person would identify it. */
export function focused(page: Page): Promise<{ text: string | null; id: string | null; role: string | null }> {
  return page.evaluate(`(() => {
    const el = document.activeElement;
    return { text: el?.textContent?.trim() ?? null, id: el?.id || null, role: el?.getAttribute('role') ?? null };
  })()`);
}

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
