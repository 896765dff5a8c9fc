import { canonicalJson, contentHash } from '../../common/canonical-hash';
import { DesiredState } from '../as-code/desired-state';
import { EffectiveApp, EffectivePolicy, resolveEffectivePolicy } from '../effective-policy.resolver';
import { personalSideOf } from '../policy-diff';
import { CatalogApp, NATIONAL_SCOPE } from '../policy.types';
import { PLATFORMS } from '../../devices/platforms';
import { Plan, PlanChange, PlanPlatform, ScopePlan } from './plan.types';

/** What the database holds now, in the same shape as policy as code, with version numbers. */
export interface CurrentState extends DesiredState {
  versions: Record<string, number>;
}

/** Devices sharing a ministry and a set of exempted apps share an effective policy. */
export interface FleetGroup {
  ministry: string;
  exemptedApps: string[];
  devices: number;
}

/** Hash of the part of the database a plan was computed against. */
export function stateFingerprint(state: CurrentState, scopes: string[]): string {
  const relevant = new Set([NATIONAL_SCOPE, ...scopes]);
  return contentHash({
    catalog: [...state.catalog].sort((a, b) => a.slug.localeCompare(b.slug)),
    ministries: [...state.ministries].sort((a, b) => a.code.localeCompare(b.code)),
    policies: Object.keys(state.policies)
      .filter((s) => relevant.has(s))
      .sort()
      .map((s) => ({ scope: s, version: state.versions[s] ?? 0, hash: contentHash(state.policies[s]) })),
  });
}

function effectiveFor(state: DesiredState, ministry: string, exemptedApps: string[]): EffectivePolicy | undefined {
  const national = state.policies[NATIONAL_SCOPE];
  const own = state.policies[ministry];
  if (!national || !own) return undefined;
  const catalog = new Map(state.catalog.map((a) => [a.slug, a]));
  return resolveEffectivePolicy({
    national: { scope: NATIONAL_SCOPE, version: 0, content: national },
    ministry: { scope: ministry, version: 0, content: own },
    catalog,
    exemptions: exemptedApps.map((app) => ({ id: app, app, validUntil: '9999-12-31T00:00:00.000Z' })),
  });
}

function devicesChanged(before: DesiredState, after: DesiredState, fleet: FleetGroup[]): number {
  let total = 0;
  for (const group of fleet) {
    const a = effectiveFor(before, group.ministry, group.exemptedApps);
    const b = effectiveFor(after, group.ministry, group.exemptedApps);
    if (a?.hash !== b?.hash) total += group.devices;
  }
  return total;
}

/** The scope's own view: the baseline alone, or baseline + ministry without exemptions. */
function scopeView(state: DesiredState, scope: string): Map<string, EffectiveApp> {
  const ministry = scope === NATIONAL_SCOPE ? { mode: 'blocklist' as const, rules: [] } : state.policies[scope];
  const national = state.policies[NATIONAL_SCOPE];
  if (!national || !ministry) return new Map();
  const catalog = new Map(state.catalog.map((a) => [a.slug, a]));
  const policy = resolveEffectivePolicy({
    national: { scope: NATIONAL_SCOPE, version: 0, content: national },
    ministry: { scope, version: 0, content: ministry },
    catalog,
  });
  return new Map(policy.apps.map((a) => [a.app, a]));
}

function identifiersOf(app: EffectiveApp | undefined, platform: PlanPlatform): string[] {
  if (!app) return [];
  const ids = platform === 'android' ? app.android : app.ios;
  if (ids.length > 0) return ids;
  return app.web ? [app.web] : [];
}

function exemptionText(app: EffectiveApp): string {
  return app.action !== 'block' ? '' : app.exemptable ? `, exemptable ≤ ${app.maxExemptionDays} d` : ', not exemptable';
}

function describeAction(app: EffectiveApp): string {
  return `${app.action === 'block' ? 'blocked' : app.action === 'require' ? 'required' : 'allowed'}${exemptionText(app)}`;
}

function scopeChanges(before: DesiredState, after: DesiredState, scope: string): PlanChange[] {
  const a = scopeView(before, scope);
  const b = scopeView(after, scope);
  const changes: PlanChange[] = [];
  const slugs = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const slug of slugs) {
    const was = a.get(slug);
    const now = b.get(slug);
    const enforcedBefore = was && was.action !== 'allow' ? was : undefined;
    const enforcedAfter = now && now.action !== 'allow' ? now : undefined;
    for (const platform of PLATFORMS) {
      const idsBefore = identifiersOf(was, platform);
      const idsAfter = identifiersOf(now, platform);
      const ids = idsAfter.length > 0 ? idsAfter : idsBefore;
      if (ids.length === 0) continue;
      if (!enforcedBefore && enforcedAfter) {
        changes.push({ sign: '+', platform, app: slug, identifiers: ids, detail: describeAction(enforcedAfter) });
      } else if (enforcedBefore && !enforcedAfter) {
        changes.push({ sign: '-', platform, app: slug, identifiers: ids, detail: `no longer ${enforcedBefore.action === 'block' ? 'blocked' : 'required'}` });
      } else if (enforcedBefore && enforcedAfter) {
        const what: string[] = [];
        if (enforcedBefore.action !== enforcedAfter.action || exemptionText(enforcedBefore) !== exemptionText(enforcedAfter)) {
          what.push(`${describeAction(enforcedBefore)} → ${describeAction(enforcedAfter)}`);
        }
        if (canonicalJson(idsBefore) !== canonicalJson(idsAfter)) what.push(`identifiers ${idsBefore.join(', ') || '(none)'} → ${idsAfter.join(', ') || '(none)'}`);
        if (what.length > 0) changes.push({ sign: '~', platform, app: slug, identifiers: ids, detail: what.join('; ') });
      } else if (was && now && canonicalJson(was) !== canonicalJson(now)) {
        changes.push({ sign: '~', platform, app: slug, identifiers: ids, detail: 'allow-list entry changed' });
      }
    }
  }
  return changes;
}

function sameApp(a: CatalogApp, b: CatalogApp): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Compares what the database holds with what is desired, like `terraform plan`: per scope and
 * platform what becomes blocked or required (+), what is lifted (-), what changes (~), and how many
 * devices see their effective policy change. `scopes` limits the plan (the API plans one scope).
 */
export function buildPlan(current: CurrentState, desired: DesiredState, scopes: string[], fleet: FleetGroup[], now = new Date()): Plan {
  const currentApps = new Map(current.catalog.map((a) => [a.slug, a]));
  const desiredApps = new Map(desired.catalog.map((a) => [a.slug, a]));
  const catalog = {
    added: desired.catalog.filter((a) => !currentApps.has(a.slug)),
    removed: current.catalog.filter((a) => !desiredApps.has(a.slug)).map((a) => a.slug),
    changed: desired.catalog
      .filter((a) => currentApps.has(a.slug) && !sameApp(currentApps.get(a.slug) as CatalogApp, a))
      .map((a) => ({ before: currentApps.get(a.slug) as CatalogApp, after: a })),
  };
  const currentMinistries = new Map(current.ministries.map((m) => [m.code, m]));
  const ministries = {
    added: desired.ministries.filter((m) => !currentMinistries.has(m.code) && scopes.includes(m.code)),
    changed: desired.ministries
      .filter((m) => scopes.includes(m.code) && currentMinistries.has(m.code) && canonicalJson(currentMinistries.get(m.code)) !== canonicalJson(m))
      .map((m) => ({ before: currentMinistries.get(m.code) as (typeof m), after: m })),
  };

  const catalogOnly: DesiredState = { ...current, catalog: desired.catalog };
  const policies: ScopePlan[] = [];
  for (const scope of [...scopes].sort((a, b) => (a === NATIONAL_SCOPE ? -1 : b === NATIONAL_SCOPE ? 1 : a.localeCompare(b)))) {
    const wanted = desired.policies[scope];
    if (!wanted) continue;
    const existing = current.policies[scope];
    if (existing && contentHash(existing) === contentHash(wanted)) continue;
    const onlyThis: DesiredState = { ...catalogOnly, policies: { ...current.policies, [scope]: wanted } };
    const plan: ScopePlan = {
      scope,
      fromVersion: current.versions[scope] ?? null,
      changes: scopeChanges(catalogOnly, onlyThis, scope),
      devicesAffected: devicesChanged(catalogOnly, onlyThis, fleet),
      content: wanted,
    };
    if (existing && existing.mode !== wanted.mode) plan.modeChange = { from: existing.mode, to: wanted.mode };
    if (existing && personalSideOf(existing) !== personalSideOf(wanted))
      plan.personalSideChange = { from: personalSideOf(existing), to: personalSideOf(wanted) };
    policies.push(plan);
  }

  const after: DesiredState = {
    catalog: desired.catalog,
    ministries: current.ministries,
    policies: { ...current.policies, ...Object.fromEntries(policies.map((p) => [p.scope, p.content])) },
  };
  const allChanges = policies.flatMap((p) => p.changes);
  const hasChanges =
    policies.length > 0 || catalog.added.length + catalog.removed.length + catalog.changed.length + ministries.added.length + ministries.changed.length > 0;
  return {
    formatVersion: 1,
    createdAt: now.toISOString(),
    scopes: [...scopes].sort(),
    baseFingerprint: stateFingerprint(current, scopes),
    catalog,
    ministries,
    policies,
    summary: {
      hasChanges,
      scopesChanged: policies.length,
      added: allChanges.filter((c) => c.sign === '+').length,
      removed: allChanges.filter((c) => c.sign === '-').length,
      changed: allChanges.filter((c) => c.sign === '~').length,
      devicesAffected: devicesChanged(current, after, fleet),
      devicesTotal: fleet.reduce((n, g) => n + g.devices, 0),
    },
  };
}

/** Human-readable plan, in the spirit of `terraform plan`. */
export function renderPlan(plan: Plan): string {
  const out: string[] = [];
  for (const app of plan.catalog.added) out.push(`catalog: + app ${app.slug} (${app.name}, ${app.category})`);
  for (const slug of plan.catalog.removed) out.push(`catalog: - app ${slug}`);
  for (const { after } of plan.catalog.changed) out.push(`catalog: ~ app ${after.slug}`);
  for (const m of plan.ministries.added) out.push(`ministries: + ${m.code} (${m.name})`);
  for (const { after } of plan.ministries.changed) out.push(`ministries: ~ ${after.code} (${after.name}, domains ${after.emailDomains.join(', ')})`);
  for (const scope of plan.policies) {
    out.push('');
    out.push(`scope ${scope.scope} (version ${scope.fromVersion ?? 'none'} → ${(scope.fromVersion ?? 0) + 1}), ${scope.devicesAffected} device(s) affected`);
    if (scope.modeChange) out.push(`  ~ mode ${scope.modeChange.from} → ${scope.modeChange.to}`);
    if (scope.personalSideChange)
      out.push(`  ~ personal side of company-owned phones ${scope.personalSideChange.from} → ${scope.personalSideChange.to}`);
    for (const platform of PLATFORMS) {
      const lines = scope.changes.filter((c) => c.platform === platform);
      if (lines.length === 0) continue;
      out.push(`  ${platform}:`);
      for (const c of lines) out.push(`    ${c.sign} ${c.app} [${c.identifiers.join(', ')}] ${c.detail}`);
    }
    if (scope.changes.length === 0 && !scope.modeChange && !scope.personalSideChange) out.push('  (description or legal basis only: nothing changes on phones)');
  }
  const s = plan.summary;
  out.push('');
  out.push(
    s.hasChanges
      ? `Plan: ${s.added} to block or require, ${s.removed} to lift, ${s.changed} to change in ${s.scopesChanged} scope(s); ${s.devicesAffected} of ${s.devicesTotal} device(s) affected.`
      : 'No changes. The database matches the policies.',
  );
  return out.join('\n');
}
