import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SCEP (APPLE_IDENTITY_DELIVERY=scep): each enrollment profile carries a one-time challenge instead
 * of a PKCS#12, and the phone trades it for its certificate at /apple/scep. Only the challenge's
 * SHA-256 is kept: the database alone cannot enroll a phone. A challenge is used once; the
 * transaction and certificate it gave are kept so that the phone's retry of the same request
 * (RFC 8894 3.3.2: it did not get the answer) gets the same certificate, not a second one.
 */
export class AppleScep1796101000000 implements MigrationInterface {
  name = 'AppleScep1796101000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE apple_scep_challenge (
        challenge_hash bytea PRIMARY KEY,
        enrollment_id uuid NOT NULL REFERENCES apple_enrollment(id),
        issued_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        used_at timestamptz,
        transaction_id text,
        serial text REFERENCES apple_identity(serial),
        certificate bytea
      )`);
    await q.query(`CREATE INDEX apple_scep_challenge_enrollment_idx ON apple_scep_challenge (enrollment_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE apple_scep_challenge`);
  }
}
