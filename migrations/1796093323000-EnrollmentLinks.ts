import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Apple enrollment links are single-use per device, expiring and revocable: a link enrolls at most
 * `max_devices` phones (1 unless IT asks for more); downloading it again before a phone enrolled
 * replaces the identity of the previous download (revoked), so a link never has more identities
 * waiting than phones it may still enroll; a revoked link serves nothing and its waiting identities
 * are revoked with it (phones it already enrolled keep working).
 */
export class EnrollmentLinks1796093323000 implements MigrationInterface {
  name = 'EnrollmentLinks1796093323000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE apple_enrollment ADD COLUMN max_devices integer NOT NULL DEFAULT 1 CHECK (max_devices BETWEEN 1 AND 1000)`,
    );
    await q.query(`ALTER TABLE apple_enrollment ADD COLUMN revoked_at timestamptz`);
    await q.query(`ALTER TABLE apple_enrollment ADD COLUMN revoked_by text`);
    await q.query(`ALTER TABLE apple_identity ADD COLUMN revoked_at timestamptz`);
    await q.query(`CREATE INDEX apple_identity_enrollment_idx ON apple_identity (enrollment_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX apple_identity_enrollment_idx`);
    await q.query(`ALTER TABLE apple_identity DROP COLUMN revoked_at`);
    await q.query(
      `ALTER TABLE apple_enrollment DROP COLUMN revoked_by, DROP COLUMN revoked_at, DROP COLUMN max_devices`,
    );
  }
}
