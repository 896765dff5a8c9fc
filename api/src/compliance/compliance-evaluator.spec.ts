import fc from 'fast-check';
import { PLATFORMS, Platform } from '../devices/platforms';
import type { EffectiveApp, EffectivePolicy } from '../policies/effective-policy.types';
import { complianceApps } from './compliance-apps';
import {
  COMPLIANCE_STATES,
  ComplianceClock,
  ComplianceFacts,
  evaluateCompliance,
  REASON_TEXT,
} from './compliance-evaluator';
import { countsOf, TallyRow } from './compliance-summary';

const NOW = new Date('2026-12-01T10:00:00Z');
const DAY = 86_400_000;

/** A catalog app with its identifiers on both platforms (distinct per app and per platform). */
interface CatalogEntry {
  slug: string;
  name: string;
  android: string[];
  ios: string[];
}

const catalogArb: fc.Arbitrary<CatalogEntry[]> = fc
  .uniqueArray(fc.stringMatching(/^[a-z]{3,8}$/), { minLength: 1, maxLength: 10 })
  .chain((slugs) =>
    fc.tuple(
      ...slugs.map((slug) =>
        fc.record({
          slug: fc.constant(slug),
          name: fc.constantFrom(`${slug.toUpperCase()} App`, `Appli ${slug}`),
          android: fc.integer({ min: 1, max: 2 }).map((n) => Array.from({ length: n }, (_, i) => `com.${slug}.a${i}`)),
          ios: fc.integer({ min: 1, max: 2 }).map((n) => Array.from({ length: n }, (_, i) => `com.${slug}.Ios${i}`)),
        }),
      ),
    ),
  );

type Action = 'block' | 'require' | 'allow';

/** A catalog, what the policy says of each app (allow = no rule, or an exemption lifted its block), and what is installed. */
const caseArb = catalogArb.chain((catalog) =>
  fc.record({
    catalog: fc.constant(catalog),
    actions: fc.array(fc.constantFrom<Action>('block', 'require', 'allow'), {
      minLength: catalog.length,
      maxLength: catalog.length,
    }),
    exempted: fc.array(fc.boolean(), { minLength: catalog.length, maxLength: catalog.length }),
    installed: fc.array(fc.boolean(), { minLength: catalog.length, maxLength: catalog.length }),
    foreign: fc.array(fc.stringMatching(/^org\.other\.[a-z]{1,6}$/), { maxLength: 4 }),
    reportedDaysAgo: fc.option(fc.double({ min: 0, max: 60, noNaN: true }), { nil: null }),
    supervised: fc.constantFrom<boolean | null>(true, false, null),
    osTooOld: fc.boolean(),
    policyErrors: fc.array(fc.constantFrom('passwordPolicies (API_LEVEL)', 'profile refused: 12001'), {
      maxLength: 2,
    }),
    staleAfterDays: fc.integer({ min: 1, max: 30 }),
  }),
);
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function effectiveOf(c: Case): EffectivePolicy {
  const apps: EffectiveApp[] = c.catalog.map((entry, i) => {
    const action = c.actions[i];
    const lifted = action === 'block' && c.exempted[i];
    return {
      app: entry.slug,
      name: entry.name,
      action: lifted ? 'allow' : action,
      origins: ['national'],
      exemptable: action === 'block',
      maxExemptionDays: null,
      legalBasis: [],
      ...(lifted ? { liftedBy: { id: 'e', app: entry.slug, validUntil: '2027-01-01T00:00:00.000Z' } } : {}),
      android: entry.android,
      ios: entry.ios,
    };
  });
  return {
    mode: 'blocklist',
    ministry: 'interieur',
    nationalVersion: 1,
    ministryVersion: 1,
    apps,
    exemptedApps: [],
    hash: 'h',
  };
}

function factsOf(c: Case, platform: Platform): ComplianceFacts {
  return {
    reportedAt: c.reportedDaysAgo === null ? null : new Date(NOW.getTime() - c.reportedDaysAgo * DAY),
    installed: [...c.catalog.filter((_, i) => c.installed[i]).flatMap((e) => e[platform]), ...c.foreign],
    supervised: c.supervised,
    osTooOld: c.osTooOld,
    policyErrors: c.policyErrors,
  };
}

const clockOf = (c: Case): ComplianceClock => ({ now: NOW, staleAfterDays: c.staleAfterDays });

function evaluate(c: Case, platform: Platform) {
  return evaluateCompliance(factsOf(c, platform), complianceApps(effectiveOf(c), platform), clockOf(c));
}

describe('compliance evaluator', () => {
  it('never says compliant while a banned app that no exemption lifted is installed, and names it', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...PLATFORMS), (c, platform) => {
        const result = evaluate(c, platform);
        const banned = c.catalog.filter((_, i) => c.installed[i] && c.actions[i] === 'block' && !c.exempted[i]);
        if (banned.length === 0 || c.reportedDaysAgo === null) return;
        expect(result.state).not.toBe('compliant');
        for (const app of banned) {
          expect(result.bannedApps).toContain(app.slug);
          expect(result.reasons.map((r) => r.text)).toContain(REASON_TEXT.bannedApp(app.name));
        }
      }),
    );
  });

  it('gives the same state, reasons and banned apps on Android and on an iPhone for the same facts', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(evaluate(c, 'android')).toEqual(evaluate(c, 'ios'));
      }),
    );
  });

  it('says unknown for a phone that never reported, whatever else is known', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...PLATFORMS), (c, platform) => {
        const result = evaluate({ ...c, reportedDaysAgo: null }, platform);
        expect(result).toEqual({ state: 'unknown', reasons: [], bannedApps: [] });
      }),
    );
  });

  it('is compliant exactly when the phone reported recently, completely, and nothing is wrong', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...PLATFORMS), (c, platform) => {
        const result = evaluate(c, platform);
        const recent = c.reportedDaysAgo !== null && c.reportedDaysAgo * DAY <= c.staleAfterDays * DAY;
        const wrong = c.catalog.some(
          (_, i) =>
            (c.installed[i] && c.actions[i] === 'block' && !c.exempted[i]) ||
            (!c.installed[i] && c.actions[i] === 'require'),
        );
        const ok = recent && !wrong && c.supervised === true && !c.osTooOld && c.policyErrors.length === 0;
        expect(result.state === 'compliant').toBe(ok);
        if (result.state === 'compliant') expect(result.reasons).toEqual([]);
        if (result.state === 'non-compliant') expect(result.reasons.length).toBeGreaterThan(0);
      }),
    );
  });

  it('never gives a reason for an app whose block an exemption lifted, nor for an app the policy does not mention', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...PLATFORMS), (c, platform) => {
        const result = evaluate(c, platform);
        const quiet = c.catalog.filter(
          (_, i) => c.actions[i] === 'allow' || (c.actions[i] === 'block' && c.exempted[i]),
        );
        for (const app of quiet) expect(result.reasons.some((r) => r.app === app.slug)).toBe(false);
      }),
    );
  });

  it('does not depend on the order of the inventory', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...PLATFORMS), (c, platform) => {
        const facts = factsOf(c, platform);
        const apps = complianceApps(effectiveOf(c), platform);
        expect(
          evaluateCompliance({ ...facts, installed: [...facts.installed].reverse() }, [...apps].reverse(), clockOf(c)),
        ).toEqual(evaluateCompliance(facts, apps, clockOf(c)));
      }),
    );
  });

  it('reads the same reasons for the TikTok example on both platforms', () => {
    const tiktok = { slug: 'tiktok', name: 'TikTok', action: 'block' as const };
    const facts = { reportedAt: NOW, supervised: true, osTooOld: false, policyErrors: [] };
    const clock = { now: NOW, staleAfterDays: 7 };
    const android = evaluateCompliance(
      { ...facts, installed: ['com.zhiliaoapp.musically'] },
      [{ ...tiktok, identifiers: ['com.zhiliaoapp.musically', 'com.ss.android.ugc.trill'] }],
      clock,
    );
    const ios = evaluateCompliance(
      { ...facts, installed: ['com.zhiliaoapp.musically'] },
      [{ ...tiktok, identifiers: ['com.zhiliaoapp.musically'] }],
      clock,
    );
    expect(android).toEqual(ios);
    expect(android).toEqual({
      state: 'non-compliant',
      reasons: [{ code: 'banned-app', app: 'tiktok', text: 'banned app still installed: TikTok' }],
      bannedApps: ['tiktok'],
    });
  });
});

describe('compliance counts', () => {
  const rowArb: fc.Arbitrary<TallyRow> = fc.record({
    ministry: fc.constantFrom('interieur', 'armees', 'culture'),
    platform: fc.constantFrom(...PLATFORMS),
    state: fc.constantFrom(...COMPLIANCE_STATES),
    osMajor: fc.constantFrom('', '14', '17'),
    carriesBanned: fc.boolean(),
    phones: fc.integer({ min: 0, max: 1_000_000 }),
  });

  it('never counts unknown or stale phones as compliant, and every phone in exactly one state', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 30 }), (rows) => {
        const counts = countsOf(rows);
        const sum = (state: string) => rows.filter((r) => r.state === state).reduce((n, r) => n + r.phones, 0);
        expect(counts.compliant).toBe(sum('compliant'));
        expect(counts.unknown).toBe(sum('unknown'));
        expect(counts.stale).toBe(sum('stale'));
        expect(counts.compliant + counts.nonCompliant + counts.unknown + counts.stale).toBe(counts.phones);
        if (counts.phones === 0) expect(counts.compliantPercent).toBeNull();
        else expect(counts.compliantPercent).toBeCloseTo((100 * counts.compliant) / counts.phones, 1);
      }),
    );
  });
});
