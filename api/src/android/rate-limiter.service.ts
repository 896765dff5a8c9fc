import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A shared budget: at most `ceiling` requests per second (the published quota), `burst` at once. */
export interface Quota {
  ceiling: number;
  burst: number;
}

/** How the refill rate adapts (AIMD, as TCP does): halved on a 429, raised by a step on each success. */
export interface Aimd {
  /** Lowest rate (requests/s) a run of 429s can bring the bucket down to. */
  floor: number;
  ceiling: number;
  /** Multiplicative decrease on a 429 (0.5: halved). */
  decrease: number;
  /** Additive increase per successful call (requests/s). */
  increase: number;
}

/** Defaults for a quota: floor 1/50 of it (at least one call per 10 s), back to the quota in about 100 successes. */
export function aimdFor(ceiling: number): Aimd {
  return { floor: Math.min(ceiling, Math.max(0.1, ceiling / 50)), ceiling, decrease: 0.5, increase: ceiling / 100 };
}

/** The next refill rate after a 429 (`throttled`) or a success. Pure: unit-tested, used by the service. */
export function nextRate(rate: number | null, event: 'throttled' | 'success', aimd: Aimd): number {
  const current = Math.min(aimd.ceiling, Math.max(aimd.floor, rate ?? aimd.ceiling));
  return event === 'throttled'
    ? Math.max(aimd.floor, current * aimd.decrease)
    : Math.min(aimd.ceiling, current + aimd.increase);
}

/**
 * Only one decrease per this many ms: the requests in flight when the first 429 came back get
 * theirs too, and halving once per answer would take the rate to the floor for a single event.
 */
export const DECREASE_COOLDOWN_MS = 1000;

/**
 * A token bucket in PostgreSQL, so that every worker process shares one budget (the Android
 * Management API quota is per Google Cloud project, not per process). Its refill rate adapts: after
 * a 429 it is cut (and the tokens in hand are dropped) for every worker at once, then it climbs back
 * to the quota with each success; it never exceeds the quota.
 */
@Injectable()
export class RateLimiterService {
  /** Keys last seen below their ceiling: only those pay a statement per success. */
  private readonly recovering = new Set<string>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The current rate sql of a row: `rate` within [floor, ceiling], null meaning the ceiling. */
  private static rateSql = `least($3::float8, coalesce(rate, $3::float8))`;

  /** Waits until a token is available under `key` (refilled at the current rate, at most `burst` held). */
  async acquire(key: string, quota: Quota): Promise<void> {
    await this.db.query(
      `INSERT INTO rate_limit (key, tokens, refilled_at) VALUES ($1, $2, now()) ON CONFLICT (key) DO NOTHING`,
      [key, quota.burst],
    );
    const refill = `least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * ${RateLimiterService.rateSql})`;
    for (;;) {
      const [rows, affected] = (await this.db.query(
        `UPDATE rate_limit SET tokens = ${refill} - 1, refilled_at = clock_timestamp()
          WHERE key = $1 AND ${refill} >= 1
          RETURNING ${RateLimiterService.rateSql} AS rate`,
        [key, quota.burst, quota.ceiling],
      )) as [{ rate: number }[], number];
      if (affected > 0) {
        if (rows[0].rate < quota.ceiling) this.recovering.add(key);
        else this.recovering.delete(key);
        return;
      }
      const [{ tokens, rate }] = (await this.db.query(
        `SELECT ${refill} AS tokens, ${RateLimiterService.rateSql} AS rate FROM rate_limit WHERE key = $1`,
        [key, quota.burst, quota.ceiling],
      )) as { tokens: number; rate: number }[];
      await new Promise((r) => setTimeout(r, Math.max(5, Math.ceil(((1 - tokens) / rate) * 1000))));
    }
  }

  /** Google answered 429: every worker slows down (rate cut once per cooldown, tokens in hand dropped). */
  async throttled(key: string, aimd: Aimd): Promise<number> {
    this.recovering.add(key);
    return this.db.transaction(async (tx) => {
      const [row] = (await tx.query(
        `SELECT rate, decreased_at > clock_timestamp() - make_interval(secs => $2::float8 / 1000) AS recent
           FROM rate_limit WHERE key = $1 FOR UPDATE`,
        [key, DECREASE_COOLDOWN_MS],
      )) as { rate: number | null; recent: boolean | null }[];
      if (!row) return aimd.ceiling;
      const rate = row.recent
        ? nextRate(row.rate, 'success', { ...aimd, increase: 0 })
        : nextRate(row.rate, 'throttled', aimd);
      await tx.query(
        `UPDATE rate_limit SET rate = $2, tokens = least(tokens, 0), refilled_at = clock_timestamp(),
                decreased_at = CASE WHEN $3 THEN decreased_at ELSE clock_timestamp() END
          WHERE key = $1`,
        [key, rate, row.recent === true],
      );
      return rate;
    });
  }

  /** A call went through: the rate climbs back towards the quota (no statement once it is there). */
  async succeeded(key: string, aimd: Aimd): Promise<void> {
    if (!this.recovering.has(key)) return;
    await this.db.transaction(async (tx) => {
      const [row] = (await tx.query(`SELECT rate FROM rate_limit WHERE key = $1 FOR UPDATE`, [key])) as {
        rate: number | null;
      }[];
      if (!row) return;
      const rate = nextRate(row.rate, 'success', aimd);
      await tx.query(`UPDATE rate_limit SET rate = $2 WHERE key = $1`, [key, rate >= aimd.ceiling ? null : rate]);
      if (rate >= aimd.ceiling) this.recovering.delete(key);
    });
  }

  /** The current refill rate of `key` (requests/s), the ceiling when it never slowed down. */
  async rate(key: string, ceiling: number): Promise<number> {
    const [row] = (await this.db.query(
      `SELECT least($2::float8, coalesce(rate, $2::float8)) AS rate FROM rate_limit WHERE key = $1`,
      [key, ceiling],
    )) as { rate: number }[];
    return row?.rate ?? ceiling;
  }

  /**
   * How many calls the bucket allows in the next `seconds`: the tokens in hand plus the refill at the
   * current rate. What a periodic job may pick without queueing more than the quota lets through.
   */
  async budget(key: string, quota: Quota, seconds: number): Promise<number> {
    const [row] = (await this.db.query(
      `SELECT least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * ${RateLimiterService.rateSql}) AS tokens,
              ${RateLimiterService.rateSql} AS rate
         FROM rate_limit WHERE key = $1`,
      [key, quota.burst, quota.ceiling],
    )) as { tokens: number; rate: number }[];
    const tokens = row?.tokens ?? quota.burst;
    const rate = row?.rate ?? quota.ceiling;
    return Math.max(0, Math.floor(tokens + rate * seconds));
  }
}
