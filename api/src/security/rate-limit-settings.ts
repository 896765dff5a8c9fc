export interface RateLimitSettings {
  /** Sliding window, in seconds. */
  windowSeconds: number;
  /** Requests per window for a signed-in person (bearer token or session), wherever they connect from. */
  perUser: number;
  /** Requests per window for a client address when no one is signed in. */
  perIp: number;
  /** Apple MDM messages (check-in and command channel) per window for one device identity; default DEFAULT_PER_DEVICE. */
  perDevice?: number;
}

/**
 * An iPhone speaks when we wake it: a handful of messages per command round (enrollment: about ten
 * in a few seconds). Two per second sustained is far above that, and far below a flood.
 */
export const DEFAULT_PER_DEVICE = 120;

/**
 * Production defaults: 10 and 5 requests/s sustained, several times what a person clicking through
 * the admin interface makes (a page is 3 to 6 calls), far below what one script can send.
 */
export const DEFAULT_RATE_LIMIT: RateLimitSettings = {
  windowSeconds: 60,
  perUser: 600,
  perIp: 300,
  perDevice: DEFAULT_PER_DEVICE,
};

/** The settings, for those who count outside the throttler (the Apple MDM channels). */
export const RATE_LIMIT_SETTINGS = Symbol('RATE_LIMIT_SETTINGS');
