import { CatalogApp, PolicyContent } from '../policy.types';
import { buildPlan, CurrentState, FleetGroup, renderPlan, stateFingerprint } from './plan-builder';

const app = (slug: string, android: string[], ios: string[]): CatalogApp => ({ slug, name: slug, category: 'recreational-social', android, ios });
const catalog = [app('tiktok', ['com.zhiliaoapp.musically'], ['com.zhiliaoapp.musically']), app('x', ['com.twitter.android'], ['com.atebits.Tweetie2']), app('dropbox', ['com.dropbox.android'], ['com.getdropbox.Dropbox'])];
const national: PolicyContent = { mode: 'blocklist', rules: [{ app: 'tiktok', action: 'block', exemptable: true, maxExemptionDays: 365, legalBasis: 'I-2023' }, { app: 'x', action: 'block', exemptable: true, maxExemptionDays: 365, legalBasis: 'I-2023' }] };
const current: CurrentState = {
  catalog,
  ministries: [{ code: 'interieur', name: 'Intérieur', emailDomains: ['interieur.gouv.fr'] }, { code: 'culture', name: 'Culture', emailDomains: ['culture.gouv.fr'] }],
  policies: { national, interieur: { mode: 'blocklist', rules: [] }, culture: { mode: 'blocklist', rules: [] } },
  versions: { national: 3, interieur: 1, culture: 2 },
};
const fleet: FleetGroup[] = [
  { ministry: 'interieur', exemptedApps: [], devices: 100 },
  { ministry: 'interieur', exemptedApps: ['x'], devices: 4 },
  { ministry: 'culture', exemptedApps: [], devices: 50 },
  { ministry: 'culture', exemptedApps: ['tiktok'], devices: 2 },
];

describe('buildPlan', () => {
  it('reports no change for identical content', () => {
    const plan = buildPlan(current, current, ['national', 'interieur', 'culture'], fleet);
    expect(plan.summary.hasChanges).toBe(false);
    expect(renderPlan(plan)).toContain('No changes');
  });

  it('shows a new ministry block per platform and counts only that ministry\'s devices', () => {
    const desired = { ...current, policies: { ...current.policies, culture: { mode: 'blocklist' as const, rules: [{ app: 'dropbox', action: 'block' as const, exemptable: false }] } } };
    const plan = buildPlan(current, desired, ['culture'], fleet);
    expect(plan.policies).toHaveLength(1);
    expect(plan.policies[0].changes).toEqual([
      { sign: '+', platform: 'android', app: 'dropbox', identifiers: ['com.dropbox.android'], detail: 'blocked, not exemptable' },
      { sign: '+', platform: 'ios', app: 'dropbox', identifiers: ['com.getdropbox.Dropbox'], detail: 'blocked, not exemptable' },
    ]);
    expect(plan.policies[0].devicesAffected).toBe(52);
    expect(plan.summary).toMatchObject({ added: 2, devicesAffected: 52, devicesTotal: 156 });
  });

  it('making a block non-exemptable touches only the devices whose exemption it cancels', () => {
    const stricter: PolicyContent = { ...national, rules: national.rules.map((r) => (r.app === 'x' ? { app: 'x', action: 'block', exemptable: false, legalBasis: 'I-2023' } : r)) };
    const plan = buildPlan(current, { ...current, policies: { ...current.policies, national: stricter } }, ['national'], fleet);
    expect(plan.policies[0].changes.map((c) => `${c.sign} ${c.platform} ${c.app}`)).toEqual(['~ android x', '~ ios x']);
    expect(plan.policies[0].devicesAffected).toBe(4);
  });

  it('shows a lifted block with "-" and a mode change', () => {
    const lifted: PolicyContent = { mode: 'blocklist', rules: [national.rules[0]] };
    const plan = buildPlan(current, { ...current, policies: { ...current.policies, national: lifted } }, ['national'], fleet);
    expect(plan.policies[0].changes.filter((c) => c.sign === '-').map((c) => c.app)).toEqual(['x', 'x']);
    // The 4 devices already exempted for x see nothing change.
    expect(plan.policies[0].devicesAffected).toBe(152);

    const allowlist = buildPlan(current, { ...current, policies: { ...current.policies, culture: { mode: 'allowlist', rules: [] } } }, ['culture'], fleet);
    expect(allowlist.policies[0].modeChange).toEqual({ from: 'blocklist', to: 'allowlist' });
    expect(renderPlan(allowlist)).toContain('~ mode blocklist → allowlist');
  });

  it('fingerprints only what the plan depends on', () => {
    const otherMinistryChanged = { ...current, versions: { ...current.versions, interieur: 2 }, policies: { ...current.policies, interieur: { mode: 'allowlist' as const, rules: [] } } };
    expect(stateFingerprint(otherMinistryChanged, ['culture'])).toBe(stateFingerprint(current, ['culture']));
    expect(stateFingerprint(otherMinistryChanged, ['interieur'])).not.toBe(stateFingerprint(current, ['interieur']));
    const baselineChanged = { ...current, versions: { ...current.versions, national: 4 } };
    expect(stateFingerprint(baselineChanged, ['culture'])).not.toBe(stateFingerprint(current, ['culture']));
  });
});
