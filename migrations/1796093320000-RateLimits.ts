import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rate-limit counters in PostgreSQL, shared by every API replica and kept across restarts: one row
 * per client key (`<throttler>:agent:<id>`, `…:ip:<address>`, `…:device:<serial>`…) holding the
 * times (ms since the epoch, PostgreSQL's clock) of its requests still inside the sliding window.
 * Rows whose window has passed are deleted by the API every minute.
 */
export class RateLimits1796093320000 implements MigrationInterface {
  name = 'RateLimits1796093320000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rate_limit_window (
        key text PRIMARY KEY,
        hits bigint[] NOT NULL,
        blocked boolean NOT NULL DEFAULT false,
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX rate_limit_window_expiry_idx ON rate_limit_window (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limit_window`);
  }
}
