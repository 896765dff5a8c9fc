import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rate-limit counters are written on every request: UNLOGGED, they cost no WAL and no flush at
 * each commit (at 300 requests/s the flushes were most of PostgreSQL's work). They still survive a
 * restart of the API replicas and a clean restart of PostgreSQL; only a crash of PostgreSQL empties
 * them, which at worst gives every client a fresh window.
 */
export class RateLimitsUnlogged1796093423000 implements MigrationInterface {
  name = 'RateLimitsUnlogged1796093423000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rate_limit_window SET UNLOGGED`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rate_limit_window SET LOGGED`);
  }
}
