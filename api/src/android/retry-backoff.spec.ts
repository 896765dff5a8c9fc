import { realErrors, sharedTarget } from '../rollout/rollout-engine.service';
import { backoffMs, MAX_RETRY_MS, MIN_RETRY_MS } from './amapi-client.service';
import { aimdFor, nextRate } from './rate-limiter.service';

describe('AIMD refill rate of the shared AMAPI bucket', () => {
  const aimd = aimdFor(10); // 1,000 requests per 100 s

  it('halves on a 429, down to the floor and never below', () => {
    expect(nextRate(null, 'throttled', aimd)).toBe(5);
    expect(nextRate(5, 'throttled', aimd)).toBe(2.5);
    let rate = 10;
    for (let i = 0; i < 50; i++) rate = nextRate(rate, 'throttled', aimd);
    expect(rate).toBe(aimd.floor);
    expect(aimd.floor).toBeGreaterThan(0);
  });

  it('climbs back by a step per success, up to the quota and never above', () => {
    expect(nextRate(5, 'success', aimd)).toBeCloseTo(5.1);
    let rate = 5;
    let successes = 0;
    while (rate < 10) {
      rate = nextRate(rate, 'success', aimd);
      successes++;
    }
    expect(successes).toBeGreaterThanOrEqual(50);
    expect(successes).toBeLessThanOrEqual(51);
    expect(nextRate(rate, 'success', aimd)).toBe(10);
    expect(nextRate(null, 'success', aimd)).toBe(10);
    // A stored rate above the quota (the quota was lowered) is brought down to it.
    expect(nextRate(40, 'success', aimd)).toBe(10);
  });

  it('keeps a floor for a tiny quota without going over it', () => {
    const tiny = aimdFor(0.05);
    expect(tiny.floor).toBeLessThanOrEqual(0.05);
    expect(nextRate(null, 'throttled', tiny)).toBe(tiny.floor);
  });
});

describe('retry backoff of one AMAPI call', () => {
  const low = () => 0;
  const high = () => 0.999999;

  it('grows exponentially, half fixed and half jitter, capped at 30 s', () => {
    expect([0, 1, 2, 3].map((a) => backoffMs(a, null, low))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffMs(0, null, high)).toBeCloseTo(1000, 0);
    expect(backoffMs(2, null, high)).toBeCloseTo(4000, 0);
    expect(backoffMs(20, null, high)).toBeLessThanOrEqual(MAX_RETRY_MS);
    expect(backoffMs(20, null, low)).toBe(MAX_RETRY_MS / 2);
  });

  it('never retries sooner than the minimum spacing, even with a Retry-After of 0', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      expect(backoffMs(attempt, null, low)).toBeGreaterThanOrEqual(MIN_RETRY_MS);
      expect(backoffMs(attempt, 0, low)).toBeGreaterThanOrEqual(MIN_RETRY_MS);
    }
    // Three retries after a 429 without Retry-After take at least 0.5 + 1 + 2 s.
    expect(backoffMs(0, null, low) + backoffMs(1, null, low) + backoffMs(2, null, low)).toBe(3500);
  });

  it('honours a longer Retry-After', () => {
    expect(backoffMs(0, 7000, high)).toBe(7000);
    expect(backoffMs(3, 100, low)).toBe(4000);
  });
});

describe('what counts as a real error in a report', () => {
  it('keeps every non-compliance reason but the ones that say "not done yet"', () => {
    expect(realErrors(undefined)).toEqual([]);
    expect(realErrors('policy: PENDING; applications com.a: PENDING')).toEqual([]);
    expect(realErrors('cameraDisabled: API_LEVEL; applications com.a: PENDING')).toEqual(['cameraDisabled: API_LEVEL']);
    expect(realErrors('the phone reports an error')).toEqual(['the phone reports an error']);
    // A banned app still being removed, a required one still being installed: compliance, not a failed push.
    expect(
      realErrors('applications com.zhiliaoapp.musically: APP_INSTALLED; applications fr.tchap: APP_NOT_INSTALLED'),
    ).toEqual([]);
    expect(realErrors('applications com.a: APP_INSTALLED; screenCaptureDisabled: MANAGEMENT_MODE')).toEqual([
      'screenCaptureDisabled: MANAGEMENT_MODE',
    ]);
  });
});

describe('the shared policy a retry attaches a phone to', () => {
  const group = { id: 'g1', desiredHash: 'new', sharedPublishedHash: 'old', sharedCanaryHash: null as string | null };
  it('is the stable policy once it carries the desired content, else the canary, else none', () => {
    expect(sharedTarget({ ...group, sharedPublishedHash: 'new' })).toBe('g1');
    expect(sharedTarget({ ...group, sharedCanaryHash: 'new' })).toBe('g1.canary');
    expect(sharedTarget(group)).toBeNull();
  });
});
