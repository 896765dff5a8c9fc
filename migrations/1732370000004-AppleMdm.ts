import { MigrationInterface, QueryRunner } from 'typeorm';

/** Apple MDM: the service's CA, the APNs push certificate, enrollments, device channel state, the per-device command queue. */
export class AppleMdm1732370000004 implements MigrationInterface {
  name = 'AppleMdm1732370000004';

  async up(q: QueryRunner): Promise<void> {
    // The CA that issues device identities. Production keeps the key in an HSM; here it is a row.
    await q.query(`
      CREATE TABLE apple_ca (
        id smallint PRIMARY KEY CHECK (id = 1),
        cert_pem text NOT NULL,
        key_pem text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE apple_push_certificate (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        topic text NOT NULL,
        cert_pem text NOT NULL,
        key_pem text NOT NULL,
        not_after timestamptz NOT NULL,
        active boolean NOT NULL DEFAULT true,
        uploaded_by text NOT NULL,
        uploaded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX apple_push_certificate_active ON apple_push_certificate (active) WHERE active`);
    await q.query(`
      CREATE TABLE apple_enrollment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token text NOT NULL UNIQUE,
        ministry_code text NOT NULL REFERENCES ministry(code),
        agent_id uuid REFERENCES agent(id),
        expires_at timestamptz NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One identity per downloaded profile; bound to the first UDID that authenticates with it.
    await q.query(`
      CREATE TABLE apple_identity (
        serial text PRIMARY KEY,
        enrollment_id uuid NOT NULL REFERENCES apple_enrollment(id),
        udid text UNIQUE,
        issued_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE device ADD COLUMN apple_identity_serial text`);
    await q.query(`ALTER TABLE device ADD COLUMN apns_token text`);
    await q.query(`ALTER TABLE device ADD COLUMN push_magic text`);
    await q.query(`ALTER TABLE device ADD COLUMN apns_topic text`);
    await q.query(`ALTER TABLE device ADD COLUMN apns_dead_at timestamptz`);
    await q.query(`ALTER TABLE device ADD COLUMN supervised boolean`);
    await q.query(`ALTER TABLE device ADD COLUMN inventory_at timestamptz`);
    await q.query(`
      CREATE TABLE apple_command (
        uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        device_id uuid NOT NULL REFERENCES device(id) ON DELETE CASCADE,
        seq bigserial NOT NULL,
        request_type text NOT NULL,
        command bytea NOT NULL,
        policy_hash text,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'acknowledged', 'error', 'not-now', 'cancelled')),
        not_now_until timestamptz,
        sent_at timestamptz,
        answered_at timestamptz,
        result jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX apple_command_next_idx ON apple_command (device_id, seq) WHERE status IN ('queued', 'sent', 'not-now')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE apple_command`);
    await q.query(
      `ALTER TABLE device DROP COLUMN apple_identity_serial, DROP COLUMN apns_token, DROP COLUMN push_magic, DROP COLUMN apns_topic, DROP COLUMN apns_dead_at, DROP COLUMN supervised, DROP COLUMN inventory_at`,
    );
    for (const table of ['apple_identity', 'apple_enrollment', 'apple_push_certificate', 'apple_ca'])
      await q.query(`DROP TABLE ${table}`);
  }
}
