import type { Platform } from '../devices/platforms';
import type { EffectivePolicy } from '../policies/effective-policy.types';
import type { ComplianceApp } from './compliance-evaluator';

/**
 * The apps an effective policy bans or requires, with their identifiers on one platform. An app
 * whose block an exemption lifted is `allow` in the effective policy, so it is not here.
 */
export function complianceApps(effective: EffectivePolicy, platform: Platform): ComplianceApp[] {
  const out: ComplianceApp[] = [];
  for (const app of effective.apps) {
    if (app.action !== 'block' && app.action !== 'require') continue;
    out.push({ slug: app.app, name: app.name, action: app.action, identifiers: app[platform] });
  }
  return out;
}
