import { MigrationInterface, QueryRunner } from 'typeorm';

/** Android Enterprise: one enterprise per ministry, published policy versions, web apps, enrollment tokens, a shared rate limit. */
export class AndroidEnterprise1732370000003 implements MigrationInterface {
  name = 'AndroidEnterprise1732370000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE android_enterprise (
        ministry_code text PRIMARY KEY REFERENCES ministry(code),
        enterprise_name text NOT NULL UNIQUE CHECK (enterprise_name ~ '^enterprises/[A-Za-z0-9_-]+$'),
        display_name text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE android_signup (
        name text PRIMARY KEY,
        ministry_code text NOT NULL REFERENCES ministry(code),
        url text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      )`);
    // Which content hash each (policy, version) carries: a device reporting appliedPolicyVersion N has applied that hash.
    await q.query(`
      CREATE TABLE android_policy_publication (
        enterprise_name text NOT NULL,
        policy_name text NOT NULL,
        version bigint NOT NULL,
        hash text NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (enterprise_name, policy_name, version)
      )`);
    await q.query(`
      CREATE TABLE android_web_app (
        enterprise_name text NOT NULL,
        url text NOT NULL,
        web_app_name text NOT NULL,
        package_name text NOT NULL,
        PRIMARY KEY (enterprise_name, url)
      )`);
    await q.query(`
      CREATE TABLE android_enrollment_token (
        name text PRIMARY KEY,
        ministry_code text NOT NULL REFERENCES ministry(code),
        agent_id uuid REFERENCES agent(id),
        personal_usage text NOT NULL,
        expires_at timestamptz NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE rate_limit (
        key text PRIMARY KEY,
        tokens double precision NOT NULL,
        refilled_at timestamptz NOT NULL
      )`);
    // A phone enrolled with a ministry-wide token has no agent until IT assigns one.
    await q.query(`ALTER TABLE device ALTER COLUMN agent_id DROP NOT NULL`);
    await q.query(`ALTER TABLE device ADD COLUMN compliance_reason text`);
    await q.query(`ALTER TABLE device ADD COLUMN unenrolled_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE device DROP COLUMN compliance_reason, DROP COLUMN unenrolled_at`);
    for (const table of [
      'rate_limit',
      'android_enrollment_token',
      'android_web_app',
      'android_policy_publication',
      'android_signup',
      'android_enterprise',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
