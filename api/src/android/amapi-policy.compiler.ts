import type { androidmanagement_v1 } from 'googleapis';
import type { EffectivePolicy } from '../policies/effective-policy.resolver';

export type AmapiPolicy = androidmanagement_v1.Schema$Policy;
type ApplicationPolicy = androidmanagement_v1.Schema$ApplicationPolicy;

/**
 * Effective policy → Android Management API `Policy`, shared by every device of a group.
 * - blocklist: `playStoreMode: BLACKLIST`, blocked apps `BLOCKED`, required apps `FORCE_INSTALLED`;
 * - allowlist: `playStoreMode: WHITELIST`, allowed apps `AVAILABLE`, required `FORCE_INSTALLED`.
 * A catalog app blocks or allows every package it lists (TikTok, TikTok Lite, its regional builds…).
 * On a personally owned phone the policy governs the work profile only, as AMAPI applies it;
 * `personalUsagePolicies` reaches the personal side of company-owned phones with a work profile
 * (a work phone in the sense of the 2023 instruction) and is ignored elsewhere:
 * - blocklist: the blocked apps are blocked there too (`personalPlayStoreMode: BLOCKLIST`);
 * - allowlist, personal side `allowlist`: only the allowed and required apps may be installed
 *   there (`personalPlayStoreMode: ALLOWLIST`, each `AVAILABLE`);
 * - allowlist, personal side `disallowed`: `ALLOWLIST` with no app at all — the ministry's tokens
 *   enroll fully managed phones only, and a phone that got a personal side anyway gets nothing on it.
 * `webApps` maps a web app's address (Visio) to the package name AMAPI gave its web app.
 */
export function compileAmapiPolicy(policy: EffectivePolicy, webApps: ReadonlyMap<string, string>): AmapiPolicy {
  const applications: ApplicationPolicy[] = [];
  const personalBlocked: string[] = [];
  const personalAllowed: string[] = [];
  for (const app of policy.apps) {
    const packages =
      app.android.length > 0 ? app.android : app.web && webApps.has(app.web) ? [webApps.get(app.web) as string] : [];
    for (const packageName of packages) {
      if (app.action === 'block') {
        applications.push({ packageName, installType: 'BLOCKED' });
        personalBlocked.push(packageName);
      } else if (app.action === 'require') {
        applications.push({ packageName, installType: 'FORCE_INSTALLED' });
        // A web app exists in the work profile only: nothing to install on the personal side.
        if (app.android.length > 0) personalAllowed.push(packageName);
      } else if (policy.mode === 'allowlist') {
        applications.push({ packageName, installType: 'AVAILABLE' });
        if (app.android.length > 0) personalAllowed.push(packageName);
      }
    }
  }
  applications.sort((a, b) => (a.packageName ?? '').localeCompare(b.packageName ?? ''));
  const compiled: AmapiPolicy = {
    playStoreMode: policy.mode === 'allowlist' ? 'WHITELIST' : 'BLACKLIST',
    applications,
    statusReportingSettings: { applicationReportsEnabled: true, softwareInfoEnabled: true },
  };
  if (policy.mode === 'allowlist') {
    const allowed = (policy.personalSide ?? 'allowlist') === 'allowlist' ? personalAllowed : [];
    compiled.personalUsagePolicies = {
      personalPlayStoreMode: 'ALLOWLIST',
      personalApplications: [...new Set(allowed)]
        .sort()
        .map((packageName) => ({ packageName, installType: 'AVAILABLE' })),
    };
  } else if (personalBlocked.length > 0) {
    compiled.personalUsagePolicies = {
      personalPlayStoreMode: 'BLOCKLIST',
      personalApplications: [...new Set(personalBlocked)]
        .sort()
        .map((packageName) => ({ packageName, installType: 'BLOCKED' })),
    };
  }
  return compiled;
}

/** Web apps (no store app) the policy needs, by address: they must exist as AMAPI web apps first. */
export function webAppsOf(policy: EffectivePolicy): { url: string; title: string }[] {
  return policy.apps
    .filter((a) => a.android.length === 0 && a.web && a.action !== 'block')
    .map((a) => ({ url: a.web as string, title: a.name }));
}
