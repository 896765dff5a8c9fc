import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retries that mean something (issue 14):
 * - `device.push_failed_for`: the desired hash a device failed for (a refused push, or the phone
 *   reporting a real error), so that a rollout's stage gate counts its own failures only, not those
 *   of an older change or another cause;
 * - `rate_limit.rate` and `decreased_at`: the shared token bucket's current refill rate (AIMD: halved
 *   after a 429, raised step by step on success; null = the quota) and when it was last cut.
 */
export class MeaningfulRetries1796100100000 implements MigrationInterface {
  name = 'MeaningfulRetries1796100100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE device ADD COLUMN push_failed_for text`);
    await q.query(`ALTER TABLE rate_limit ADD COLUMN rate double precision, ADD COLUMN decreased_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rate_limit DROP COLUMN rate, DROP COLUMN decreased_at`);
    await q.query(`ALTER TABLE device DROP COLUMN push_failed_for`);
  }
}
