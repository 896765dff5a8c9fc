import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an Apple identity enrolled its phone. A link's phones are counted by it (not by the UDID it
 * holds): a phone that left and enrolls again with a new link frees its UDID for the new identity,
 * and the old link must not get its slot back.
 */
export class AppleIdentityEnrolledAt1796093426000 implements MigrationInterface {
  name = 'AppleIdentityEnrolledAt1796093426000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE apple_identity ADD COLUMN enrolled_at timestamptz`);
    await q.query(`UPDATE apple_identity SET enrolled_at = issued_at WHERE udid IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE apple_identity DROP COLUMN enrolled_at`);
  }
}
