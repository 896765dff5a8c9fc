import { MigrationInterface, QueryRunner } from 'typeorm';

/** Browser sessions of the admin interface (login run by the backend: code + PKCE, then an httpOnly cookie). */
export class Sessions1732370000005 implements MigrationInterface {
  name = 'Sessions1732370000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE login_attempt (
        state text PRIMARY KEY,
        code_verifier text NOT NULL,
        return_to text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Only a hash of the cookie value is stored: a leaked table does not leak sessions.
    await q.query(`
      CREATE TABLE session (
        token_hash text PRIMARY KEY,
        agent_id uuid NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX session_expiry_idx ON session (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE session`);
    await q.query(`DROP TABLE login_attempt`);
  }
}
