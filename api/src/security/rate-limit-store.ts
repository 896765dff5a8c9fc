import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { DataSource } from 'typeorm';

/** One request counted against a key. */
export interface RateLimitHit {
  /** Requests in the window, this one included (counted or not). */
  hits: number;
  /** Over the limit: this request was refused and not counted. */
  blocked: boolean;
  /** Seconds until the oldest counted request leaves the window (what Retry-After says when blocked). */
  retryAfterSeconds: number;
}

/**
 * A signed-in person's request already counted by the statement that looked the person up
 * (PrincipalLookup): the throttler uses this outcome instead of counting it a second time.
 */
export const PRECOUNTED = Symbol('rate-limit hit counted with the principal');

export interface Precounted {
  /** The throttler's key (`default:agent:<id>`) and the limit and window it was counted with. */
  key: string;
  limit: number;
  windowMs: number;
  hit: RateLimitHit;
}

/** The throttler's key for a signed-in person (ClientThrottlerGuard: one budget per agent across all routes). */
export function agentRateKey(agentId: string): string {
  return `default:agent:${agentId}`;
}

/** rate_limit_hit's answer as rows carry it. */
export function hitOf(row: { hits: number; blocked: boolean; retry_after_ms: string | number }): RateLimitHit {
  return {
    hits: row.hits,
    blocked: row.blocked,
    retryAfterSeconds: Math.max(1, Math.ceil(Number(row.retry_after_ms) / 1000)),
  };
}

/**
 * The key as stored: printable ASCII as is (readable when looking at the table), anything else
 * (a NUL or odd bytes from a URL, a very long token) by its SHA-256.
 */
export function storedKey(key: string): string {
  return /^[\x20-\x7e]{1,200}$/.test(key) ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** Expired rows are deleted this often. */
const SWEEP_MS = 60_000;

/** PostgreSQL's clock in ms: every replica counts against the same time. */
const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/**
 * Rate-limit counters in PostgreSQL (table rate_limit_window), so that every API replica shares
 * them and a restart forgets nothing: a sliding window log per key, exactly like @nestjs/throttler's
 * in-memory storage (a refused request is not counted; Retry-After is when the oldest counted
 * request leaves the window). One statement per request (the function rate_limit_hit, which locks
 * the key's row), so two replicas counting the same key at once never both get the last slot.
 */
@Injectable()
export class RateLimitStore implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimits');
  private sweeper?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => {
      this.sweep().catch((e: Error) => this.logger.warn(`could not delete expired rate-limit windows: ${e.message}`));
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** Counts one request against `key` unless `limit` requests already are in the last `windowMs` (function rate_limit_hit). */
  async hit(key: string, windowMs: number, limit: number): Promise<RateLimitHit> {
    const [row] = (await this.db.query(`SELECT hits, blocked, retry_after_ms FROM rate_limit_hit($1, $2, $3)`, [
      storedKey(key),
      windowMs,
      limit,
    ])) as { hits: number; blocked: boolean; retry_after_ms: string }[];
    return hitOf(row);
  }

  /** Requests counted against `key` in the last `windowMs`, without counting one. */
  async count(key: string, windowMs: number): Promise<number> {
    const [row] = (await this.db.query(
      `SELECT cardinality(ARRAY(SELECT h FROM unnest(hits) h WHERE h > ${NOW_MS} - $2)) AS n FROM rate_limit_window WHERE key = $1`,
      [storedKey(key), windowMs],
    )) as { n: number }[];
    return row?.n ?? 0;
  }

  /** @nestjs/throttler's storage interface (no penalty box: blockDuration is not used, see RateLimitModule). */
  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const r = await this.hit(key, ttl, limit);
    return {
      totalHits: r.hits,
      timeToExpire: r.retryAfterSeconds,
      isBlocked: r.blocked,
      timeToBlockExpire: r.blocked ? r.retryAfterSeconds : 0,
    };
  }

  async sweep(): Promise<number> {
    const [, deleted] = (await this.db.query(`DELETE FROM rate_limit_window WHERE expires_at < clock_timestamp()`)) as [
      unknown,
      number,
    ];
    return deleted;
  }
}
