import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device identities renewed before they lapse, without re-enrollment:
 * - `not_after`: when the identity's certificate expires. Identities issued before this migration
 *   were valid two years from their issue (AppleCaService), so that is what they get; an
 *   enrollment profile's identity is inserted without it and gets the same two years by default (at
 *   most that: its certificate was issued just before, or earlier when it waited in the pool); a
 *   renewal stores its certificate's exact date.
 * - `renews`: on a renewal identity, the identity it replaces. Pending while it is bound to no UDID
 *   and not revoked: at most one pending renewal per identity (unique index), so a phone is never
 *   sent two renewals at once, whatever the number of workers.
 * - `renewal_command`: the InstallProfile that carries it (its answer tells whether the phone took it).
 * - `replaced_at`: on a replaced identity, when its renewal took over (it is revoked then).
 */
export class AppleIdentityRenewal1796101100000 implements MigrationInterface {
  name = 'AppleIdentityRenewal1796101100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE apple_identity ADD COLUMN not_after timestamptz`);
    await q.query(`UPDATE apple_identity SET not_after = issued_at + interval '730 days'`);
    await q.query(
      `ALTER TABLE apple_identity ALTER COLUMN not_after SET DEFAULT now() + interval '730 days', ALTER COLUMN not_after SET NOT NULL`,
    );
    await q.query(`ALTER TABLE apple_identity ADD COLUMN renews text REFERENCES apple_identity(serial)`);
    await q.query(`ALTER TABLE apple_identity ADD COLUMN renewal_command uuid`);
    await q.query(`ALTER TABLE apple_identity ADD COLUMN replaced_at timestamptz`);
    await q.query(
      `CREATE UNIQUE INDEX apple_identity_renewal_pending_idx ON apple_identity (renews)
        WHERE renews IS NOT NULL AND udid IS NULL AND revoked_at IS NULL`,
    );
    await q.query(`CREATE INDEX apple_identity_renews_idx ON apple_identity (renews) WHERE renews IS NOT NULL`);
    await q.query(
      `CREATE INDEX apple_identity_renewal_command_idx ON apple_identity (renewal_command) WHERE renewal_command IS NOT NULL`,
    );
    // The renewal job's scan: identities in use, soonest to lapse first.
    await q.query(
      `CREATE INDEX apple_identity_expiry_idx ON apple_identity (not_after) WHERE udid IS NOT NULL AND revoked_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX apple_identity_expiry_idx`);
    await q.query(`DROP INDEX apple_identity_renewal_command_idx`);
    await q.query(`DROP INDEX apple_identity_renews_idx`);
    await q.query(`DROP INDEX apple_identity_renewal_pending_idx`);
    await q.query(
      `ALTER TABLE apple_identity DROP COLUMN replaced_at, DROP COLUMN renewal_command, DROP COLUMN renews, DROP COLUMN not_after`,
    );
  }
}
