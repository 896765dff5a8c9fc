import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Command hygiene at fleet scale:
 * - `target`: the app an InstallApplication installs (its bundle ID, kept even when Apps and Books
 *   replaced it by an iTunesStoreID in the command), so that an install identical to one pending or
 *   in progress is never queued again;
 * - `not_now_count` / `repush_at`: a command the phone postponed (NotNow) is pushed again with a
 *   growing delay, rather than waiting for the next inventory;
 * - answered commands are pruned after a retention period: indexed by when they ended.
 */
export class AppleCommandHygiene1796100700000 implements MigrationInterface {
  name = 'AppleCommandHygiene1796100700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE apple_command ADD COLUMN target text`);
    await q.query(`ALTER TABLE apple_command ADD COLUMN not_now_count int NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE apple_command ADD COLUMN repush_at timestamptz`);
    await q.query(
      `CREATE INDEX apple_command_install_idx ON apple_command (device_id, request_type, answered_at)
        WHERE request_type IN ('InstallApplication', 'ManagedApplicationList')`,
    );
    await q.query(`CREATE INDEX apple_command_repush_idx ON apple_command (repush_at) WHERE status = 'not-now'`);
    await q.query(
      `CREATE INDEX apple_command_done_idx ON apple_command ((coalesce(answered_at, created_at)))
        WHERE status IN ('acknowledged', 'error', 'cancelled')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX apple_command_done_idx`);
    await q.query(`DROP INDEX apple_command_repush_idx`);
    await q.query(`DROP INDEX apple_command_install_idx`);
    await q.query(`ALTER TABLE apple_command DROP COLUMN repush_at, DROP COLUMN not_now_count, DROP COLUMN target`);
  }
}
