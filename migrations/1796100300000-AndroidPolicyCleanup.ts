import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * AMAPI policies no group uses any more (canary variants after a rollout, groups of expired
 * exemptions), on their way to `policies.delete`: seen unused since, attempts (Google refuses while
 * a device still references one), deleted. A policy published again after its deletion is live again.
 */
export class AndroidPolicyCleanup1796100300000 implements MigrationInterface {
  name = 'AndroidPolicyCleanup1796100300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE android_policy_cleanup (
        enterprise_name text NOT NULL,
        policy_name text NOT NULL,
        unused_since timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        deleted_at timestamptz,
        PRIMARY KEY (enterprise_name, policy_name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE android_policy_cleanup`);
  }
}
