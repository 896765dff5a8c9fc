import { getConstructionPlans } from 'pg-boss';
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Exemption workflow columns and indexes, in-app notifications, and the pg-boss job schema (the outbox). */
export class ExemptionsNotificationsJobs1732370000001 implements MigrationInterface {
  name = 'ExemptionsNotificationsJobs1732370000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exemption ADD COLUMN approved_days integer CHECK (approved_days > 0)`);
    await q.query(`ALTER TABLE exemption ADD COLUMN renewal_of uuid REFERENCES exemption(id)`);
    await q.query(`ALTER TABLE exemption ADD COLUMN expiry_reminded_at timestamptz`);
    // One pending and one active exemption per agent and app, whatever the race.
    await q.query(
      `CREATE UNIQUE INDEX exemption_one_pending ON exemption (agent_id, app_slug) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE UNIQUE INDEX exemption_one_approved ON exemption (agent_id, app_slug) WHERE status = 'approved'`,
    );
    await q.query(`CREATE INDEX exemption_due_idx ON exemption (valid_until) WHERE status = 'approved'`);
    await q.query(`CREATE INDEX exemption_queue_idx ON exemption (ministry_code, status, requested_at, app_slug)`);
    await q.query(`DROP INDEX exemption_ministry_status_idx`);
    await q.query(`
      CREATE TABLE notification (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        agent_id uuid NOT NULL REFERENCES agent(id),
        kind text NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        link text,
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz,
        email_sent_at timestamptz
      )`);
    await q.query(`CREATE INDEX notification_agent_idx ON notification (agent_id, created_at DESC)`);
    await q.query(getConstructionPlans('pgboss'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA IF EXISTS pgboss CASCADE`);
    await q.query(`DROP TABLE notification`);
    await q.query(`DROP INDEX exemption_one_pending, exemption_one_approved, exemption_due_idx, exemption_queue_idx`);
    await q.query(`CREATE INDEX exemption_ministry_status_idx ON exemption (ministry_code, status, requested_at)`);
    await q.query(
      `ALTER TABLE exemption DROP COLUMN approved_days, DROP COLUMN renewal_of, DROP COLUMN expiry_reminded_at`,
    );
  }
}
