import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which enrolled phones are attached to an AMAPI policy: the policy hygiene asks it for every
 * policy it is about to delete (and devices attached to a shared policy are looked up by it), which
 * would otherwise read the whole device table each time. Partial: retired phones and phones of
 * per-device platforms (no bound policy) stay out of it.
 */
export class DeviceBoundPolicyIndex1796100300001 implements MigrationInterface {
  name = 'DeviceBoundPolicyIndex1796100300001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX device_bound_policy_idx ON device (bound_policy) WHERE bound_policy IS NOT NULL AND unenrolled_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX device_bound_policy_idx`);
  }
}
