import { renewalsThisRun } from './renewal-quota';

describe('renewalsThisRun', () => {
  it('queues nothing when no identity is due', () => {
    expect(renewalsThisRun(0, 0, 30)).toBe(0);
    expect(renewalsThisRun(5, 0, 30)).toBe(0);
  });

  it('queues at least one a run while any is due, even far from expiry', () => {
    expect(renewalsThisRun(0.001, 3, 30)).toBe(1);
    expect(renewalsThisRun(0, 3, 30)).toBe(1);
    expect(renewalsThisRun(Number.NaN, 3, 30)).toBe(1);
  });

  it('keeps the pace the soonest expiries need, rounded up', () => {
    expect(renewalsThisRun(2.3, 100, 30)).toBe(3);
    expect(renewalsThisRun(7, 100, 30)).toBe(7);
  });

  it('never more than are due, nor than the cap (each renewal generates a key)', () => {
    expect(renewalsThisRun(12, 4, 30)).toBe(4);
    expect(renewalsThisRun(500, 10_000, 30)).toBe(30);
    expect(renewalsThisRun(5, 10, 0)).toBe(0);
  });
});
