import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * A token bucket in PostgreSQL, so that every worker process shares one budget (the Android
 * Management API quota is per Google Cloud project, not per process).
 */
@Injectable()
export class RateLimiterService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Waits until a token is available under `key`, refilled at `perSecond`, holding at most `burst`. */
  async acquire(key: string, perSecond: number, burst: number): Promise<void> {
    await this.db.query(
      `INSERT INTO rate_limit (key, tokens, refilled_at) VALUES ($1, $2, now()) ON CONFLICT (key) DO NOTHING`,
      [key, burst],
    );
    for (;;) {
      const rows = (await this.db.query(
        `UPDATE rate_limit
            SET tokens = least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * $3::float8) - 1,
                refilled_at = clock_timestamp()
          WHERE key = $1 AND least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * $3::float8) >= 1
          RETURNING tokens`,
        [key, burst, perSecond],
      )) as [unknown[], number];
      if (rows[1] > 0) return;
      const [{ tokens }] = (await this.db.query(
        `SELECT least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * $3::float8) AS tokens FROM rate_limit WHERE key = $1`,
        [key, burst, perSecond],
      )) as { tokens: number }[];
      await new Promise((r) => setTimeout(r, Math.max(5, Math.ceil(((1 - tokens) / perSecond) * 1000))));
    }
  }
}
