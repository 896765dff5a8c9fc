import { stricterMinimum } from '../compliance/os-version';
import { contentHash } from '../common/canonical-hash';
import { CatalogApp, PolicyRule, VersionedPolicy } from './policy.types';

/** In allowlist mode every app not on the list is blocked; an exemption may add one for this long. */
export const ALLOWLIST_IMPLICIT_MAX_EXEMPTION_DAYS = 365;

export type { ActiveExemption, EffectiveAction, EffectiveApp, EffectivePolicy, RuleOrigin } from './effective-policy.types';
import type { ActiveExemption, EffectiveAction, EffectiveApp, EffectivePolicy, RuleOrigin } from './effective-policy.types';

export interface ResolveInput {
  national: VersionedPolicy;
  ministry: VersionedPolicy;
  catalog: ReadonlyMap<string, CatalogApp>;
  exemptions?: readonly ActiveExemption[];
}

interface Accumulated {
  action: EffectiveAction;
  origins: RuleOrigin[];
  exemptable: boolean;
  maxExemptionDays: number | null;
  legalBasis: string[];
}

function fromRule(rule: PolicyRule, origin: RuleOrigin): Accumulated {
  return {
    action: rule.action,
    origins: [origin],
    exemptable: rule.action === 'block' ? rule.exemptable : false,
    maxExemptionDays: rule.action === 'block' && rule.exemptable ? rule.maxExemptionDays ?? null : null,
    legalBasis: rule.legalBasis ? [rule.legalBasis] : [],
  };
}

/** Strictest of two rules on the same app: a block beats everything, a require beats an allow. */
function merge(base: Accumulated, extra: Accumulated): Accumulated {
  const rank = { block: 2, require: 1, allow: 0 } as const;
  const origins = [...new Set([...base.origins, ...extra.origins])];
  const legalBasis = [...new Set([...base.legalBasis, ...extra.legalBasis])];
  if (base.action === 'block' && extra.action === 'block') {
    const exemptable = base.exemptable && extra.exemptable;
    const days = exemptable ? Math.min(base.maxExemptionDays ?? 0, extra.maxExemptionDays ?? 0) : null;
    return { action: 'block', origins, exemptable, maxExemptionDays: days, legalBasis };
  }
  const winner = rank[extra.action] > rank[base.action] ? extra : base;
  return { ...winner, origins, legalBasis };
}

/**
 * effective = national ∪ ministry, minus the blocks lifted by the agent's active exemptions.
 * Pure and deterministic: the same inputs give the same apps in the same order and the same hash.
 */
export function resolveEffectivePolicy(input: ResolveInput): EffectivePolicy {
  const { national, ministry, catalog } = input;
  const byApp = new Map<string, Accumulated>();
  for (const rule of national.content.rules) {
    const prev = byApp.get(rule.app);
    byApp.set(rule.app, prev ? merge(prev, fromRule(rule, 'national')) : fromRule(rule, 'national'));
  }
  for (const rule of ministry.content.rules) {
    const prev = byApp.get(rule.app);
    byApp.set(rule.app, prev ? merge(prev, fromRule(rule, 'ministry')) : fromRule(rule, 'ministry'));
  }
  const mode = ministry.content.mode;
  const personalSide = mode === 'allowlist' ? (ministry.content.personalSide ?? 'allowlist') : undefined;
  // A ministry may only harden the national policy: the higher minimum applies.
  const minimumIos = stricterMinimum(national.content.minimumIos, ministry.content.minimumIos);

  const lifted = new Map<string, ActiveExemption>();
  for (const exemption of input.exemptions ?? []) {
    const entry = byApp.get(exemption.app);
    const implicitlyBlocked = mode === 'allowlist' && !entry && catalog.has(exemption.app);
    const liftable = entry ? entry.action === 'block' && entry.exemptable : implicitlyBlocked;
    if (!liftable) continue;
    const previous = lifted.get(exemption.app);
    // Keep the longest-running one so the explanation shows the real end date.
    if (!previous || previous.validUntil < exemption.validUntil || (previous.validUntil === exemption.validUntil && previous.id > exemption.id)) {
      lifted.set(exemption.app, exemption);
    }
  }

  const apps: EffectiveApp[] = [];
  for (const [slug, acc] of byApp) {
    apps.push(withIdentifiers(slug, acc, lifted.get(slug), catalog));
  }
  for (const [slug, exemption] of lifted) {
    if (byApp.has(slug)) continue;
    apps.push(
      withIdentifiers(
        slug,
        {
          action: 'block',
          origins: ['ministry'],
          exemptable: true,
          maxExemptionDays: ALLOWLIST_IMPLICIT_MAX_EXEMPTION_DAYS,
          legalBasis: [],
        },
        exemption,
        catalog,
      ),
    );
  }
  apps.sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
  const exemptedApps = [...lifted.keys()].sort();

  const enforced = {
    mode,
    // Only in allowlist mode, so that blocklist policies keep the hash they had.
    ...(personalSide ? { personalSide } : {}),
    // Only when set, so that policies without one keep the hash they had.
    ...(minimumIos ? { minimumIos } : {}),
    // In blocklist mode an allowed app is simply not enforced: same phone state as no entry at all.
    apps: apps
      .filter((a) => mode === 'allowlist' || a.action !== 'allow')
      .map((a) => ({ app: a.app, action: a.action, android: a.android, ios: a.ios, web: a.web ?? null })),
  };
  return {
    mode,
    ...(personalSide ? { personalSide } : {}),
    ...(minimumIos ? { minimumIos } : {}),
    ministry: ministry.scope,
    nationalVersion: national.version,
    ministryVersion: ministry.version,
    apps,
    exemptedApps,
    hash: contentHash(enforced),
  };
}

function withIdentifiers(
  slug: string,
  acc: Accumulated,
  exemption: ActiveExemption | undefined,
  catalog: ReadonlyMap<string, CatalogApp>,
): EffectiveApp {
  const app = catalog.get(slug);
  const entry: EffectiveApp = {
    app: slug,
    name: app?.name ?? slug,
    action: exemption ? 'allow' : acc.action,
    origins: acc.origins,
    exemptable: acc.exemptable,
    maxExemptionDays: acc.maxExemptionDays,
    legalBasis: acc.legalBasis,
    android: [...(app?.android ?? [])].sort(),
    ios: [...(app?.ios ?? [])].sort(),
  };
  if (app?.web) entry.web = app.web;
  if (exemption) entry.liftedBy = exemption;
  return entry;
}

/** Whether the agent is currently barred from an app, and if so whether an exemption could lift it. */
export function blockOf(
  policy: EffectivePolicy,
  slug: string,
): { blocked: boolean; exemptable: boolean; maxExemptionDays: number | null } {
  const entry = policy.apps.find((a) => a.app === slug);
  if (entry) {
    return { blocked: entry.action === 'block', exemptable: entry.exemptable, maxExemptionDays: entry.maxExemptionDays };
  }
  if (policy.mode === 'allowlist') {
    return { blocked: true, exemptable: true, maxExemptionDays: ALLOWLIST_IMPLICIT_MAX_EXEMPTION_DAYS };
  }
  return { blocked: false, exemptable: false, maxExemptionDays: null };
}
