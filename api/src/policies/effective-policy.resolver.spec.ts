import fc from 'fast-check';
import { findConflicts } from './conflicts';
import { ActiveExemption, blockOf, resolveEffectivePolicy } from './effective-policy.resolver';
import { CatalogApp, PolicyContent, PolicyRule, VersionedPolicy } from './policy.types';

const slugs = ['tiktok', 'netflix', 'zoom', 'tchap', 'x', 'candy-crush', 'whatsapp', 'dropbox'];
const catalog = new Map<string, CatalogApp>(
  slugs.map((slug) => [slug, { slug, name: slug, category: 'productivity', android: [`com.example.${slug}`], ios: [`com.example.ios.${slug}`] }]),
);

const ruleArb: fc.Arbitrary<PolicyRule> = fc
  .record({
    app: fc.constantFrom(...slugs),
    action: fc.constantFrom('block' as const, 'allow' as const, 'require' as const),
    exemptable: fc.boolean(),
    maxExemptionDays: fc.integer({ min: 1, max: 730 }),
  })
  .map((r) => (r.exemptable ? r : { app: r.app, action: r.action, exemptable: false }));

const uniqueRules = (mode: fc.Arbitrary<'blocklist' | 'allowlist'>) =>
  fc.record({ mode, rules: fc.uniqueArray(ruleArb, { selector: (r) => r.app, maxLength: slugs.length }) });

const exemptionArb: fc.Arbitrary<ActiveExemption> = fc.record({
  id: fc.uuid(),
  app: fc.constantFrom(...slugs),
  validUntil: fc.date({ min: new Date('2026-01-01'), max: new Date('2028-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
});

const version = (scope: string, content: PolicyContent): VersionedPolicy => ({ scope, version: 1, content });

describe('resolveEffectivePolicy', () => {
  it('never lets an exemption lift a block that is not exemptable', () => {
    fc.assert(
      fc.property(uniqueRules(fc.constant('blocklist')), uniqueRules(fc.constantFrom('blocklist', 'allowlist')), fc.array(exemptionArb, { maxLength: 6 }), (nat, min, exemptions) => {
        const without = resolveEffectivePolicy({ national: version('national', nat), ministry: version('m', min), catalog });
        const withEx = resolveEffectivePolicy({ national: version('national', nat), ministry: version('m', min), catalog, exemptions });
        for (const app of slugs) {
          const before = blockOf(without, app);
          if (before.blocked && !before.exemptable) expect(blockOf(withEx, app).blocked).toBe(true);
          // An exemption never lifts anything for an app it does not name.
          if (before.blocked && !exemptions.some((e) => e.app === app)) expect(blockOf(withEx, app).blocked).toBe(true);
        }
      }),
    );
  });

  it('never unblocks anything when a ministry adds a block', () => {
    fc.assert(
      fc.property(uniqueRules(fc.constant('blocklist')), uniqueRules(fc.constantFrom('blocklist', 'allowlist')), fc.constantFrom(...slugs), fc.boolean(), fc.array(exemptionArb, { maxLength: 4 }), (nat, min, app, exemptable, exemptions) => {
        fc.pre(!min.rules.some((r) => r.app === app));
        const before = resolveEffectivePolicy({ national: version('national', nat), ministry: version('m', min), catalog, exemptions });
        const added: PolicyRule = exemptable ? { app, action: 'block', exemptable: true, maxExemptionDays: 30 } : { app, action: 'block', exemptable: false };
        const stricter = { ...min, rules: [...min.rules, added] };
        const after = resolveEffectivePolicy({ national: version('national', nat), ministry: version('m', stricter), catalog, exemptions });
        for (const slug of slugs) {
          if (blockOf(before, slug).blocked) expect(blockOf(after, slug).blocked).toBe(true);
        }
      }),
    );
  });

  it('is deterministic: rule and exemption order never change the result or its hash', () => {
    fc.assert(
      fc.property(uniqueRules(fc.constant('blocklist')), uniqueRules(fc.constantFrom('blocklist', 'allowlist')), fc.array(exemptionArb, { maxLength: 5 }), (nat, min, exemptions) => {
        const a = resolveEffectivePolicy({ national: version('national', nat), ministry: version('m', min), catalog, exemptions });
        const shuffled = resolveEffectivePolicy({
          national: version('national', { ...nat, rules: [...nat.rules].reverse() }),
          ministry: version('m', { ...min, rules: [...min.rules].reverse() }),
          catalog,
          exemptions: [...exemptions].reverse(),
        });
        expect(shuffled).toEqual(a);
        expect(shuffled.hash).toBe(a.hash);
      }),
    );
  });

  it('keeps the hash stable across releases for a known policy', () => {
    const policy = resolveEffectivePolicy({
      national: version('national', { mode: 'blocklist', rules: [{ app: 'tiktok', action: 'block', exemptable: true, maxExemptionDays: 365 }, { app: 'tchap', action: 'require', exemptable: false }] }),
      ministry: version('m', { mode: 'blocklist', rules: [] }),
      catalog,
    });
    // Changing this value means every phone's desired policy changes: do it on purpose only.
    expect(policy.hash).toBe('94ac2633e84e7c3ba8fa562709b9986dd46bf5ce19965d4af03c92d0f55afccc');
  });

  it('lifts an exemptable block for the exempted agent only, and lists it as the group key', () => {
    const national = version('national', { mode: 'blocklist', rules: [{ app: 'x', action: 'block', exemptable: true, maxExemptionDays: 365 }] });
    const ministry = version('m', { mode: 'blocklist', rules: [] });
    const plain = resolveEffectivePolicy({ national, ministry, catalog });
    const exempted = resolveEffectivePolicy({ national, ministry, catalog, exemptions: [{ id: 'e1', app: 'x', validUntil: '2027-01-01T00:00:00.000Z' }] });
    expect(blockOf(plain, 'x').blocked).toBe(true);
    expect(blockOf(exempted, 'x').blocked).toBe(false);
    expect(exempted.exemptedApps).toEqual(['x']);
    expect(exempted.hash).not.toBe(plain.hash);
  });
});

describe('findConflicts', () => {
  const national: PolicyContent = {
    mode: 'blocklist',
    rules: [
      { app: 'tiktok', action: 'block', exemptable: true, maxExemptionDays: 365, legalBasis: 'Instruction du 24 mars 2023' },
      { app: 'candy-crush', action: 'block', exemptable: false },
      { app: 'tchap', action: 'require', exemptable: false },
    ],
  };
  it('names both rules when a ministry allows what the baseline blocks', () => {
    const [conflict] = findConflicts(national, { mode: 'allowlist', rules: [{ app: 'tiktok', action: 'allow', exemptable: false }] }, 'armees');
    expect(conflict.message).toContain('ministry "armees" rule #1 (allow "tiktok"');
    expect(conflict.message).toContain('national rule #1 (block "tiktok"');
  });
  it('rejects loosening: exemptable where the baseline says no, or longer exemptions', () => {
    const conflicts = findConflicts(
      national,
      {
        mode: 'blocklist',
        rules: [
          { app: 'candy-crush', action: 'block', exemptable: true, maxExemptionDays: 10 },
          { app: 'tiktok', action: 'block', exemptable: true, maxExemptionDays: 400 },
          { app: 'tchap', action: 'block', exemptable: false },
        ],
      },
      'interieur',
    );
    expect(conflicts.map((c) => c.app)).toEqual(['candy-crush', 'tiktok', 'tchap']);
  });
  it('accepts tightening and new blocks', () => {
    expect(
      findConflicts(national, { mode: 'blocklist', rules: [{ app: 'tiktok', action: 'block', exemptable: true, maxExemptionDays: 30 }, { app: 'dropbox', action: 'block', exemptable: false }] }, 'interieur'),
    ).toEqual([]);
  });
});
