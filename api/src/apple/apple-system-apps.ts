import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

/** policies/apple/system-apps.yaml: Apple's built-in apps an allow-listed iPhone keeps. */
export interface AppleSystemApps {
  source: { title: string; url: string; reviewed: string };
  /** The value that lets web clips through an allow-list (Restrictions, allowListedAppBundleIDs). */
  webClips: string;
  apps: { bundleId: string; name: string; why: string }[];
  /** Changes whenever the list does: part of the allow-list profile's payload UUID. */
  digest: string;
}

const FILE = join('apple', 'system-apps.yaml');
const BUNDLE_ID = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** The policies/ folder: POLICIES_DIR, else the nearest one above this file (source tree or dist/). */
function policiesDir(): string {
  if (process.env.POLICIES_DIR) return process.env.POLICIES_DIR;
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, 'policies', FILE))) return join(dir, 'policies');
  return 'policies';
}

/** Reads and checks the list; a wrong file stops the service at start rather than hiding Phone on every iPhone. */
export function parseAppleSystemApps(text: string, file = FILE): AppleSystemApps {
  const value = parse(text) as Partial<AppleSystemApps> | null;
  const problem = (what: string) => new Error(`${file}: ${what}`);
  if (!value?.source?.url?.startsWith('https://')) throw problem('source.url must cite Apple’s documentation (https)');
  if (value.webClips !== 'com.apple.webapp') throw problem('webClips must be com.apple.webapp');
  if (!Array.isArray(value.apps) || value.apps.length === 0) throw problem('apps must list at least one app');
  for (const [i, app] of value.apps.entries())
    if (typeof app?.bundleId !== 'string' || !BUNDLE_ID.test(app.bundleId) || !app.name || !app.why)
      throw problem(`apps[${i}] needs a bundleId (reverse-DNS), a name and why it is kept`);
  const apps = value.apps.map(({ bundleId, name, why }) => ({ bundleId, name, why }));
  const digest = createHash('sha256')
    .update(apps.map((a) => a.bundleId).join('\n'))
    .digest('hex')
    .slice(0, 16);
  return { source: value.source, webClips: value.webClips, apps, digest };
}

let loaded: AppleSystemApps | undefined;

/** The maintained list (read once). */
export function appleSystemApps(): AppleSystemApps {
  if (!loaded) {
    const path = join(policiesDir(), FILE);
    loaded = parseAppleSystemApps(readFileSync(path, 'utf8'), path);
  }
  return loaded;
}
