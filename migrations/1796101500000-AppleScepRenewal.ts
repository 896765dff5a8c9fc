import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity renewal by SCEP (APPLE_IDENTITY_DELIVERY=scep): the renewal profile carries a one-time
 * challenge instead of a PKCS#12, so that a phone enrolled through SCEP makes its new key itself.
 * - `renews`: on a renewal challenge, the identity it renews (the certificate it gives speaks for
 *   that identity's phone only). Pending while neither used nor revoked: at most one per identity
 *   (unique index), so two workers never send a phone two renewals.
 * - `renewal_command`: the InstallProfile that carries it (its answer tells whether the phone took it).
 */
export class AppleScepRenewal1796101500000 implements MigrationInterface {
  name = 'AppleScepRenewal1796101500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE apple_scep_challenge ADD COLUMN renews text REFERENCES apple_identity(serial)`);
    await q.query(`ALTER TABLE apple_scep_challenge ADD COLUMN renewal_command uuid`);
    await q.query(
      `CREATE UNIQUE INDEX apple_scep_challenge_renewal_pending_idx ON apple_scep_challenge (renews)
        WHERE renews IS NOT NULL AND used_at IS NULL AND revoked_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX apple_scep_challenge_renews_idx ON apple_scep_challenge (renews) WHERE renews IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX apple_scep_challenge_renewal_command_idx ON apple_scep_challenge (renewal_command)
        WHERE renewal_command IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX apple_scep_challenge_renewal_command_idx`);
    await q.query(`DROP INDEX apple_scep_challenge_renews_idx`);
    await q.query(`DROP INDEX apple_scep_challenge_renewal_pending_idx`);
    await q.query(`ALTER TABLE apple_scep_challenge DROP COLUMN renewal_command, DROP COLUMN renews`);
  }
}
