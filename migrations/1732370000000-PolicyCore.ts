import { MigrationInterface, QueryRunner } from 'typeorm';

/** The policy core: ministries, agents and roles, the app catalog, versioned policies, devices, exemptions, the audit chain. */
export class PolicyCore1732370000000 implements MigrationInterface {
  name = 'PolicyCore1732370000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE ministry (
        code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9-]{1,31}$' AND code <> 'national'),
        name text NOT NULL,
        email_domains text[] NOT NULL DEFAULT '{}',
        siret text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE agent (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        sub text NOT NULL UNIQUE,
        email text NOT NULL,
        given_name text NOT NULL DEFAULT '',
        usual_name text NOT NULL DEFAULT '',
        ministry_code text NOT NULL REFERENCES ministry(code),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz
      )`);
    await q.query(`CREATE INDEX agent_ministry_idx ON agent (ministry_code)`);
    await q.query(`CREATE INDEX agent_email_idx ON agent (lower(email))`);
    await q.query(`
      CREATE TABLE role_assignment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        agent_id uuid NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('agent', 'approver', 'it-admin', 'national-admin')),
        ministry_code text REFERENCES ministry(code),
        granted_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((role = 'national-admin') = (ministry_code IS NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX role_assignment_unique ON role_assignment (agent_id, role, coalesce(ministry_code, ''))`,
    );
    await q.query(`
      CREATE TABLE app (
        slug text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        name text NOT NULL,
        category text NOT NULL,
        publisher text,
        android_packages text[] NOT NULL DEFAULT '{}',
        ios_bundle_ids text[] NOT NULL DEFAULT '{}',
        web_url text,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE policy (
        scope text PRIMARY KEY,
        current_version integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE policy_version (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope text NOT NULL REFERENCES policy(scope),
        version integer NOT NULL CHECK (version > 0),
        mode text NOT NULL CHECK (mode IN ('blocklist', 'allowlist')),
        content jsonb NOT NULL,
        content_hash text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        comment text,
        rolled_back_from integer,
        UNIQUE (scope, version)
      )`);
    await q.query(`
      CREATE TABLE policy_plan (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        scopes text[] NOT NULL,
        base_fingerprint text NOT NULL,
        plan jsonb NOT NULL,
        status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'applied')),
        applied_at timestamptz,
        applied_by text
      )`);
    await q.query(`
      CREATE TABLE device (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        platform text NOT NULL CHECK (platform IN ('android', 'ios')),
        ownership text NOT NULL DEFAULT 'company' CHECK (ownership IN ('company', 'personal')),
        agent_id uuid NOT NULL REFERENCES agent(id),
        ministry_code text NOT NULL REFERENCES ministry(code),
        display_name text NOT NULL,
        model text,
        android_device_name text UNIQUE,
        apple_udid text UNIQUE,
        enrolled_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz,
        installed_apps jsonb NOT NULL DEFAULT '[]',
        desired_hash text,
        applied_hash text,
        compliance text NOT NULL DEFAULT 'unknown' CHECK (compliance IN ('unknown', 'compliant', 'non-compliant'))
      )`);
    await q.query(`CREATE INDEX device_ministry_idx ON device (ministry_code)`);
    await q.query(`CREATE INDEX device_agent_idx ON device (agent_id)`);
    await q.query(`
      CREATE TABLE exemption (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        agent_id uuid NOT NULL REFERENCES agent(id),
        ministry_code text NOT NULL REFERENCES ministry(code),
        app_slug text NOT NULL REFERENCES app(slug),
        device_id uuid REFERENCES device(id),
        justification text NOT NULL,
        requested_days integer NOT NULL CHECK (requested_days > 0),
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'cancelled', 'revoked', 'expired')),
        requested_at timestamptz NOT NULL DEFAULT now(),
        decided_by uuid REFERENCES agent(id),
        decided_at timestamptz,
        decision_reason text,
        valid_from timestamptz,
        valid_until timestamptz
      )`);
    await q.query(`CREATE INDEX exemption_agent_status_idx ON exemption (agent_id, status)`);
    await q.query(`CREATE INDEX exemption_ministry_status_idx ON exemption (ministry_code, status, requested_at)`);
    await q.query(`
      CREATE TABLE audit_event (
        seq bigint PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_id uuid,
        actor text NOT NULL,
        action text NOT NULL,
        entity_type text NOT NULL,
        entity_id text NOT NULL,
        ministry_code text,
        before jsonb,
        after jsonb,
        prev_hash text NOT NULL,
        hash text NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_event_ministry_idx ON audit_event (ministry_code, seq)`);
    await q.query(`CREATE INDEX audit_event_entity_idx ON audit_event (entity_type, entity_id)`);
    // The chain's head lives apart from the rows so that deleting the newest rows is detected too.
    await q.query(`
      CREATE TABLE audit_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL,
        hash text NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'audit_head',
      'audit_event',
      'exemption',
      'device',
      'policy_plan',
      'policy_version',
      'policy',
      'app',
      'role_assignment',
      'agent',
      'ministry',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
