import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Android Enterprise set-up: what Google said of the enterprise's notifications when it was bound
 * (topic, types), policies Google refused (with its message, for the ministry's health page), and
 * phones Google lists that enrolled with no token of ours (for IT to look at).
 */
export class AndroidEnterpriseSetup1796100000000 implements MigrationInterface {
  name = 'AndroidEnterpriseSetup1796100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE android_enterprise ADD COLUMN pubsub_topic text`);
    await q.query(`ALTER TABLE android_enterprise ADD COLUMN notification_types text[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      CREATE TABLE android_publish_error (
        enterprise_name text NOT NULL,
        policy_name text NOT NULL,
        message text NOT NULL,
        failed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (enterprise_name, policy_name)
      )`);
    await q.query(`
      CREATE TABLE android_unknown_device (
        device_name text PRIMARY KEY,
        ministry_code text NOT NULL REFERENCES ministry(code),
        enrollment_token_name text,
        model text,
        serial_number text,
        ownership text,
        enrolled_at timestamptz,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX android_unknown_device_ministry_idx ON android_unknown_device (ministry_code)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE android_unknown_device`);
    await q.query(`DROP TABLE android_publish_error`);
    await q.query(`ALTER TABLE android_enterprise DROP COLUMN pubsub_topic, DROP COLUMN notification_types`);
  }
}
