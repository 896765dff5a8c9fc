import { MigrationInterface, QueryRunner } from 'typeorm';

/** The role the API and the worker run as (see api/src/database/database-url.ts). */
export const SERVICE_ROLE = 'mdm_service';

/**
 * The audit log is append-only in the database itself: the service runs as a role that may read and
 * add audit events but never edit, delete or truncate them. Migrations keep running as the owner.
 *
 * pg-boss creates a table partition per queue at run time (ATTACH PARTITION needs the owner of the
 * parent table), so its schema is handed to the service role, which owns nothing else.
 */
export class AuditGrants1732370000006 implements MigrationInterface {
  name = 'AuditGrants1732370000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SERVICE_ROLE}') THEN
          CREATE ROLE ${SERVICE_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        END IF;
      END $$`);
    // The owner must be able to switch to the role: to hand it objects here, and for later migrations of pgboss.
    await q.query(`
      DO $$ BEGIN
        IF NOT pg_has_role(current_user, '${SERVICE_ROLE}', 'MEMBER') THEN
          EXECUTE format('GRANT ${SERVICE_ROLE} TO %I', current_user);
        END IF;
      END $$`);
    await q.query(`GRANT CONNECT, TEMPORARY ON DATABASE "${await this.database(q)}" TO ${SERVICE_ROLE}`);
    await q.query(`GRANT USAGE ON SCHEMA public TO ${SERVICE_ROLE}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${SERVICE_ROLE}`);
    await q.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${SERVICE_ROLE}`);
    await q.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${SERVICE_ROLE}`,
    );
    await q.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${SERVICE_ROLE}`,
    );
    // The migration history is the runner's business.
    await q.query(`REVOKE INSERT, UPDATE, DELETE ON migrations FROM ${SERVICE_ROLE}`);

    // Events: read and append only. The head moves forward in place (INSERT … ON CONFLICT DO UPDATE), so it keeps
    // UPDATE; rewriting it only makes verification fail, since it must match the last (immutable) event.
    await q.query(`REVOKE ALL ON audit_event, audit_head FROM PUBLIC`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event FROM ${SERVICE_ROLE}`);
    await q.query(`REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_head FROM ${SERVICE_ROLE}`);

    await q.query(`ALTER SCHEMA pgboss OWNER TO ${SERVICE_ROLE}`);
    await q.query(`
      DO $$ DECLARE r record; BEGIN
        -- Tables (partitions included); their indexes, row types and serial sequences follow them.
        FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'pgboss' AND c.relkind IN ('r', 'p') LOOP
          EXECUTE format('ALTER TABLE %s OWNER TO ${SERVICE_ROLE}', r.name);
        END LOOP;
        FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'pgboss' AND c.relkind IN ('S', 'v', 'm')
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) LOOP
          EXECUTE format('ALTER %s %s OWNER TO ${SERVICE_ROLE}', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END, r.name);
        END LOOP;
        FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgboss' AND p.prokind IN ('f', 'p') LOOP
          EXECUTE format('ALTER ROUTINE %s OWNER TO ${SERVICE_ROLE}', r.name);
        END LOOP;
        FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = 'pgboss' AND t.typtype IN ('e', 'd') LOOP
          EXECUTE format('ALTER TYPE %s OWNER TO ${SERVICE_ROLE}', r.name);
        END LOOP;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`REASSIGN OWNED BY ${SERVICE_ROLE} TO current_user`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM ${SERVICE_ROLE}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${SERVICE_ROLE}`);
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${SERVICE_ROLE}`);
    await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${SERVICE_ROLE}`);
    await q.query(`REVOKE ALL ON SCHEMA public FROM ${SERVICE_ROLE}`);
    await q.query(`REVOKE ALL ON DATABASE "${await this.database(q)}" FROM ${SERVICE_ROLE}`);
    // The role stays: other databases of the cluster may use it.
  }

  private async database(q: QueryRunner): Promise<string> {
    const [{ name }] = (await q.query('SELECT current_database() AS name')) as { name: string }[];
    return name;
  }
}
