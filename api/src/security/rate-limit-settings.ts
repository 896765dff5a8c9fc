export interface RateLimitSettings {
  /** Sliding window, in seconds. */
  windowSeconds: number;
  /** Requests per window for a signed-in person (bearer token or session), wherever they connect from. */
  perUser: number;
  /** Requests per window for a client address when no one is signed in. */
  perIp: number;
}

/**
 * Production defaults: 10 and 5 requests/s sustained, several times what a person clicking through
 * the admin interface makes (a page is 3 to 6 calls), far below what one script can send.
 */
export const DEFAULT_RATE_LIMIT: RateLimitSettings = { windowSeconds: 60, perUser: 600, perIp: 300 };
