import { evaluateCompliance, REASON_TEXT } from './compliance-evaluator';
import { compareVersions, stricterMinimum, versionBelow } from './os-version';

describe('OS versions', () => {
  it('compares number by number, a missing part being 0', () => {
    expect(compareVersions('14.8', '15')).toBe(-1);
    expect(compareVersions('17.10', '17.4')).toBe(1);
    expect(compareVersions('17.0', '17')).toBe(0);
    expect(compareVersions('17.4.1', '17.4')).toBe(1);
  });

  it('is below a minimum only when both are known', () => {
    expect(versionBelow('17.6.1', '18.0')).toBe(true);
    expect(versionBelow('18.1', '18.0')).toBe(false);
    expect(versionBelow(null, '18.0')).toBe(false);
    expect(versionBelow('17.6.1', undefined)).toBe(false);
  });

  it('keeps the stricter of two minimums', () => {
    expect(stricterMinimum('16', '17.4')).toBe('17.4');
    expect(stricterMinimum('18', undefined)).toBe('18');
    expect(stricterMinimum(undefined, undefined)).toBeUndefined();
  });
});

describe('a policy minimum in the evaluator', () => {
  const clock = { now: new Date('2026-12-01T10:00:00Z'), staleAfterDays: 7 };
  const facts = {
    reportedAt: clock.now,
    installed: [],
    supervised: true,
    osTooOld: false,
    policyErrors: [],
  };

  it('names the minimum; the platform floor, when also crossed, is the one reason given', () => {
    expect(evaluateCompliance({ ...facts, belowMinimum: 'iOS 18.0' }, [], clock)).toMatchObject({
      state: 'non-compliant',
      reasons: [{ code: 'os-too-old', text: REASON_TEXT.belowMinimum('iOS 18.0') }],
    });
    expect(
      evaluateCompliance({ ...facts, osTooOld: true, belowMinimum: 'iOS 18.0' }, [], clock).reasons.map((r) => r.text),
    ).toEqual([REASON_TEXT.osTooOld]);
    expect(evaluateCompliance({ ...facts, belowMinimum: null }, [], clock).state).toBe('compliant');
  });
});
