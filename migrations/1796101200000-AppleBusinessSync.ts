import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The worker syncs each ministry with Apple Business Manager and Apps and Books on its own
 * (ABM_SYNC_PERIOD_MINUTES): the outcome of the last scheduled try (`sync_state` ok or failed, the
 * error's sentence), how many tries in a row failed (the next waits twice as long each time, at most
 * a day) and when the next is due, shown in the ministry's ABM and Apps and Books views.
 */
export class AppleBusinessSync1796101200000 implements MigrationInterface {
  name = 'AppleBusinessSync1796101200000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['abm_server', 'vpp_token'])
      await q.query(`
        ALTER TABLE ${table}
          ADD COLUMN sync_state text CHECK (sync_state IN ('ok', 'failed')),
          ADD COLUMN sync_error text,
          ADD COLUMN sync_failures integer NOT NULL DEFAULT 0,
          ADD COLUMN sync_attempted_at timestamptz,
          ADD COLUMN next_sync_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['abm_server', 'vpp_token'])
      await q.query(`
        ALTER TABLE ${table} DROP COLUMN sync_state, DROP COLUMN sync_error, DROP COLUMN sync_failures,
          DROP COLUMN sync_attempted_at, DROP COLUMN next_sync_at`);
  }
}
