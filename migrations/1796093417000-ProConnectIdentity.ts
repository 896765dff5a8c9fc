import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sign-in as ProConnect really behaves, and the accounts it feeds:
 * - an agent is one person whatever the identity provider: their first identity stays on the agent
 *   row (`sub`, now with its `idp_id` and `uid`), identities met later for the same verified email
 *   are kept in `agent_identity` (ProConnect's `sub` differs per identity provider);
 * - accounts can be deactivated (tokens and sessions refused at once);
 * - the browser sign-in is bound to the browser that started it (hash of a pre-login cookie) and
 *   carries a nonce; the session keeps the id_token for the provider's logout;
 * - personal and service API tokens (only their hash is stored), each scoped to one role.
 */
export class ProConnectIdentity1796093417000 implements MigrationInterface {
  name = 'ProConnectIdentity1796093417000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE agent
        ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service')),
        ADD COLUMN idp_id text,
        ADD COLUMN uid text,
        ADD COLUMN organizational_unit text,
        ADD COLUMN email_verified boolean NOT NULL DEFAULT true,
        ADD COLUMN deactivated_at timestamptz,
        ADD COLUMN deactivated_by text,
        ADD COLUMN deactivation_reason text`);
    // Rows before this migration were provisioned from the trusted issuer's tokens (or seeded):
    // their email is taken as verified. New agents record what their identity provider said.
    await q.query(`CREATE INDEX agent_idp_uid_idx ON agent (idp_id, uid) WHERE uid IS NOT NULL`);
    await q.query(`
      CREATE TABLE agent_identity (
        sub text PRIMARY KEY CHECK (sub <> ''),
        agent_id uuid NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
        idp_id text,
        uid text,
        email text NOT NULL,
        linked_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz
      )`);
    await q.query(`CREATE INDEX agent_identity_agent_idx ON agent_identity (agent_id)`);
    await q.query(`CREATE INDEX agent_identity_idp_uid_idx ON agent_identity (idp_id, uid) WHERE uid IS NOT NULL`);

    // Sign-ins in flight are dropped: they were not bound to a browser.
    await q.query(`DELETE FROM login_attempt`);
    await q.query(`
      ALTER TABLE login_attempt
        ALTER COLUMN code_verifier DROP NOT NULL,
        ADD COLUMN nonce text NOT NULL,
        ADD COLUMN browser_hash text NOT NULL`);
    await q.query(`ALTER TABLE session ADD COLUMN id_token text`);
    await q.query(`CREATE INDEX session_agent_idx ON session (agent_id)`);

    await q.query(`
      CREATE TABLE api_token (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind IN ('personal', 'service')),
        name text NOT NULL,
        agent_id uuid NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('agent', 'approver', 'it-admin', 'national-admin')),
        ministry_code text REFERENCES ministry(code),
        token_hash text NOT NULL UNIQUE,
        created_by uuid NOT NULL REFERENCES agent(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_by text,
        last_used_at timestamptz,
        CHECK ((role = 'national-admin') = (ministry_code IS NULL))
      )`);
    await q.query(`CREATE INDEX api_token_agent_idx ON api_token (agent_id)`);
    await q.query(`CREATE INDEX api_token_creator_idx ON api_token (created_by)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_token`);
    await q.query(`DROP INDEX session_agent_idx`);
    await q.query(`ALTER TABLE session DROP COLUMN id_token`);
    await q.query(`DELETE FROM login_attempt`);
    await q.query(`ALTER TABLE login_attempt DROP COLUMN nonce, DROP COLUMN browser_hash`);
    await q.query(`ALTER TABLE login_attempt ALTER COLUMN code_verifier SET NOT NULL`);
    await q.query(`DROP TABLE agent_identity`);
    await q.query(`DELETE FROM agent WHERE kind = 'service'`);
    await q.query(`
      ALTER TABLE agent
        DROP COLUMN kind, DROP COLUMN idp_id, DROP COLUMN uid, DROP COLUMN organizational_unit,
        DROP COLUMN email_verified, DROP COLUMN deactivated_at, DROP COLUMN deactivated_by,
        DROP COLUMN deactivation_reason`);
  }
}
