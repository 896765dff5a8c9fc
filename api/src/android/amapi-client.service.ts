import { Inject, Injectable, Logger } from '@nestjs/common';
import { androidmanagement_v1, google } from 'googleapis';
import { PushError } from '../rollout/platform-adapter';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { aimdFor, Quota, RateLimiterService } from './rate-limiter.service';

export type Amapi = androidmanagement_v1.Androidmanagement;

interface HttpishError {
  status?: number;
  code?: string | number;
  response?: {
    status?: number;
    headers?: Record<string, string> | { get?: (name: string) => string | null };
    data?: { error?: { message?: string; status?: string } };
  };
  message?: string;
}

const MAX_ATTEMPTS = 6;
/** The bucket of the project's Android Management API quota, shared by every worker. */
const LIMIT_KEY = 'amapi';
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function retryAfterMs(error: HttpishError): number | null {
  const headers = error.response?.headers;
  const raw =
    headers && typeof (headers as { get?: unknown }).get === 'function'
      ? (headers as { get: (n: string) => string | null }).get('retry-after')
      : (headers as Record<string, string> | undefined)?.['retry-after'];
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

/** Shortest wait before a retry, Retry-After or not: never a burst of retries into a quota already spent. */
export const MIN_RETRY_MS = 500;
/** Longest wait between two attempts of one call. */
export const MAX_RETRY_MS = 30_000;

/**
 * Wait before retry `attempt` (0 for the first retry): exponential with "equal jitter" — half of
 * the step fixed, half random — so that the waits grow 0.5–1 s, 1–2 s, 2–4 s … up to 30 s, and
 * workers that failed together do not come back together. Never under MIN_RETRY_MS; a Retry-After
 * is honoured when longer. Pure (the random source is a parameter): unit-tested.
 */
export function backoffMs(
  attempt: number,
  retryAfter: number | null = null,
  random: () => number = Math.random,
): number {
  const step = Math.min(MAX_RETRY_MS, 2 * MIN_RETRY_MS * 2 ** attempt);
  const jittered = step / 2 + (random() * step) / 2;
  return Math.max(MIN_RETRY_MS, jittered, retryAfter ?? 0);
}

/**
 * The googleapis client for `androidmanagement` v1, every call rate-limited (shared quota) and
 * retried on 429/5xx/network errors with backoff and jitter — PATCH and POST included, which
 * googleapis would not retry — honouring Retry-After, never sooner than MIN_RETRY_MS. A 429 also
 * slows the shared bucket down for every worker (AIMD), successes bring it back to the quota. A call that still fails becomes a PushError,
 * which leaves its job in the queue to be retried later: a fault delays, never loses.
 */
@Injectable()
export class AmapiClientService {
  private readonly logger = new Logger('AMAPI');
  readonly api: Amapi;

  constructor(
    @Inject(ANDROID_SETTINGS) private readonly settings: AndroidSettings,
    private readonly limiter: RateLimiterService,
  ) {
    const auth = settings.accessToken
      ? new google.auth.OAuth2()
      : new google.auth.GoogleAuth({
          keyFile: settings.credentialsFile,
          scopes: ['https://www.googleapis.com/auth/androidmanagement'],
        });
    if (settings.accessToken && auth instanceof google.auth.OAuth2)
      auth.setCredentials({ access_token: settings.accessToken });
    // Node's own fetch: gaxios would otherwise load node-fetch through a dynamic import.
    this.api = google.androidmanagement({ version: 'v1', auth, rootUrl: settings.rootUrl, fetchImplementation: fetch });
  }

  /**
   * The project's quota (requests per 100 s) as a token bucket: a tenth of it at once, and a refill
   * rate that leaves room for that burst, so that no 100-second window ever holds more than the quota.
   */
  get quota(): Quota {
    const burst = Math.max(1, Math.round(this.settings.quotaPer100s / 10));
    return { ceiling: Math.max(this.settings.quotaPer100s - burst, 1) / 100, burst };
  }

  /** How many calls the shared bucket allows in the next `seconds` (tokens in hand + refill at the current rate). */
  budget(seconds: number): Promise<number> {
    return this.limiter.budget(LIMIT_KEY, this.quota, seconds);
  }

  async call<T>(
    label: string,
    run: (api: Amapi, options: { retry: false; timeout: number }) => Promise<{ data: T }>,
  ): Promise<T> {
    const quota = this.quota;
    const aimd = aimdFor(quota.ceiling);
    for (let attempt = 0; ; attempt++) {
      await this.limiter.acquire(LIMIT_KEY, quota);
      try {
        const { data } = await run(this.api, { retry: false, timeout: this.settings.timeoutMs });
        await this.limiter.succeeded(LIMIT_KEY, aimd);
        return data;
      } catch (e) {
        const error = e as HttpishError;
        const status = error.response?.status ?? (typeof error.status === 'number' ? error.status : undefined);
        // No HTTP answer at all (reset, timeout, refused): the request may not have arrived; try again.
        const retryable = status !== undefined ? RETRYABLE_STATUS.has(status) : true;
        // Over quota: every worker slows down, not only this call.
        if (status === 429) await this.limiter.throttled(LIMIT_KEY, aimd);
        const detail = error.response?.data?.error?.message ?? error.message ?? 'unknown error';
        if (!retryable)
          throw new PushError(`Android Management API ${label} refused (${status ?? error.code}): ${detail}`, false);
        if (attempt + 1 >= MAX_ATTEMPTS)
          throw new PushError(
            `Android Management API ${label} failed ${MAX_ATTEMPTS} times (${status ?? error.code}): ${detail}`,
            true,
          );
        const wait = backoffMs(attempt, retryAfterMs(error));
        this.logger.warn(`${label}: ${status ?? error.code} — retry ${attempt + 1} in ${Math.round(wait)} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
