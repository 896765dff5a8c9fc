import { findConflicts } from '../conflicts';
import { CatalogApp, MinistryDefinition, NATIONAL_SCOPE, PolicyContent } from '../policy.types';

/** Everything policy as code describes: the catalog, the ministries and one policy per scope. */
export interface DesiredState {
  catalog: CatalogApp[];
  ministries: MinistryDefinition[];
  /** Keyed by scope: `national` or a ministry code. */
  policies: Record<string, PolicyContent>;
}

export interface StateProblem {
  /** `catalog`, `national` or a ministry code: where the problem lives. */
  scope: string;
  path: string;
  message: string;
}

/** Checks that go beyond one file's schema: references between files and ministry-vs-baseline conflicts. */
export function validateDesiredState(state: DesiredState): StateProblem[] {
  const problems: StateProblem[] = [];
  const slugs = new Set<string>();
  const identifierOwner = new Map<string, string>();
  state.catalog.forEach((app, i) => {
    if (slugs.has(app.slug)) problems.push({ scope: 'catalog', path: `/apps/${i}/slug`, message: `duplicate app slug "${app.slug}"` });
    slugs.add(app.slug);
    for (const [platform, ids] of [['android', app.android], ['ios', app.ios]] as const) {
      ids.forEach((id, j) => {
        const key = `${platform}:${id}`;
        const owner = identifierOwner.get(key);
        if (owner && owner !== app.slug) {
          problems.push({ scope: 'catalog', path: `/apps/${i}/${platform}/${j}`, message: `${platform} identifier "${id}" already belongs to app "${owner}"` });
        }
        identifierOwner.set(key, app.slug);
      });
    }
  });

  const ministryCodes = new Set(state.ministries.map((m) => m.code));
  const national = state.policies[NATIONAL_SCOPE];
  if (!national) problems.push({ scope: NATIONAL_SCOPE, path: '/', message: 'the national baseline is missing' });

  for (const [scope, content] of Object.entries(state.policies)) {
    if (scope !== NATIONAL_SCOPE && !ministryCodes.has(scope)) {
      problems.push({ scope, path: '/', message: `unknown ministry "${scope}"` });
    }
    const seen = new Map<string, number>();
    content.rules.forEach((rule, i) => {
      if (!slugs.has(rule.app)) {
        problems.push({ scope, path: `/rules/${i}/app`, message: `unknown app "${rule.app}": it is not in the catalog (policies/catalog/apps.yaml)` });
      }
      const first = seen.get(rule.app);
      if (first !== undefined) {
        problems.push({ scope, path: `/rules/${i}/app`, message: `app "${rule.app}" already has rule #${first + 1}; one rule per app` });
      } else {
        seen.set(rule.app, i);
      }
    });
    if (scope !== NATIONAL_SCOPE && national) {
      for (const conflict of findConflicts(national, content, scope)) {
        problems.push({ scope, path: `/rules/${conflict.ministryRuleIndex}`, message: conflict.message });
      }
    }
  }
  for (const ministry of state.ministries) {
    if (!state.policies[ministry.code]) problems.push({ scope: ministry.code, path: '/', message: `ministry "${ministry.code}" has no policy` });
  }
  const domainOwner = new Map<string, string>();
  for (const ministry of state.ministries) {
    for (const domain of ministry.emailDomains) {
      const owner = domainOwner.get(domain);
      if (owner) problems.push({ scope: ministry.code, path: '/emailDomains', message: `email domain "${domain}" already belongs to ministry "${owner}"` });
      domainOwner.set(domain, ministry.code);
    }
  }
  const siretOwner = new Map<string, string>();
  for (const ministry of state.ministries) {
    for (const siret of ministry.siret ?? []) {
      const owner = siretOwner.get(siret);
      if (owner) problems.push({ scope: ministry.code, path: '/siret', message: `SIRET/SIREN "${siret}" already belongs to ministry "${owner}"` });
      siretOwner.set(siret, ministry.code);
    }
  }
  return problems;
}
