import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The `lastStatusReportTime` of the Android status report a phone's row holds: Pub/Sub does not
 * deliver in order, so a report older than the one applied is ignored instead of overwriting it.
 */
export class AndroidReportTime1796100200000 implements MigrationInterface {
  name = 'AndroidReportTime1796100200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE device ADD COLUMN android_report_time timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE device DROP COLUMN android_report_time`);
  }
}
