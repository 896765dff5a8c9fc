import { Inject, Injectable, Logger } from '@nestjs/common';
import { androidmanagement_v1, google } from 'googleapis';
import { PushError } from '../rollout/platform-adapter';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { RateLimiterService } from './rate-limiter.service';

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

/** Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 30 s. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(30_000, 500 * 2 ** attempt);
}

/**
 * The googleapis client for `androidmanagement` v1, every call rate-limited (shared quota) and
 * retried on 429/5xx/network errors with backoff and jitter — PATCH and POST included, which
 * googleapis would not retry — honouring Retry-After. A call that still fails becomes a PushError,
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

  async call<T>(
    label: string,
    run: (api: Amapi, options: { retry: false; timeout: number }) => Promise<{ data: T }>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.limiter.acquire(
        'amapi',
        this.settings.quotaPer100s / 100,
        Math.max(1, Math.round(this.settings.quotaPer100s / 10)),
      );
      try {
        return (await run(this.api, { retry: false, timeout: this.settings.timeoutMs })).data;
      } catch (e) {
        const error = e as HttpishError;
        const status = error.response?.status ?? (typeof error.status === 'number' ? error.status : undefined);
        // No HTTP answer at all (reset, timeout, refused): the request may not have arrived; try again.
        const retryable = status !== undefined ? RETRYABLE_STATUS.has(status) : true;
        const detail = error.response?.data?.error?.message ?? error.message ?? 'unknown error';
        if (!retryable)
          throw new PushError(`Android Management API ${label} refused (${status ?? error.code}): ${detail}`, false);
        if (attempt + 1 >= MAX_ATTEMPTS)
          throw new PushError(
            `Android Management API ${label} failed ${MAX_ATTEMPTS} times (${status ?? error.code}): ${detail}`,
            true,
          );
        const wait = retryAfterMs(error) ?? backoffMs(attempt);
        this.logger.warn(`${label}: ${status ?? error.code} — retry ${attempt + 1} in ${Math.round(wait)} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
