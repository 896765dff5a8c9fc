import { Client } from 'pg';
import { SERVICE_ROLE } from '../../../migrations/1732370000006-AuditGrants';

/** The restricted role the API and the worker run as, created by the migration that sets the audit grants. */
export { SERVICE_ROLE };

/**
 * The same database, each connection switched to `role` at start-up (libpq `options=-c role=…`,
 * which TypeORM and pg-boss both pass through): the service then has that role's rights only, not
 * the login's. Connecting as a superuser or the owner and switching drops their rights; PostgreSQL
 * checks that the login may use the role.
 */
export function asRole(url: string, role: string = SERVICE_ROLE): string {
  const u = new URL(url);
  const others = (u.searchParams.get('options') ?? '').replace(/-c\s*role=\S+/g, '').trim();
  u.searchParams.set('options', `${others} -c role=${role}`.trim());
  return u.toString();
}

/** The login the service uses on a PostgreSQL we manage (embedded, tests): a member of the service role, nothing more. */
export const SERVICE_LOGIN = 'mdm_api';

/**
 * Creates (or updates) `login`: LOGIN, not superuser, no CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS,
 * member of `role` only, so that a session of the service can neither `SET ROLE` to the owner of the
 * tables nor act as a superuser (it could then rewrite the audit log and its head). `role` is
 * created as migration AuditGrants creates it when it does not exist yet. Runs as `adminUrl`'s login
 * (the embedded PostgreSQL's superuser).
 */
export async function ensureServiceLogin(
  adminUrl: string,
  opts: { login?: string; password: string; role?: string },
): Promise<void> {
  const login = opts.login ?? SERVICE_LOGIN;
  const role = opts.role ?? SERVICE_ROLE;
  for (const name of [login, role]) if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`${name} is not a role name`);
  if (!/^[A-Za-z0-9_-]+$/.test(opts.password)) throw new Error('the service login password must be base64url');
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // Two processes starting at once (the API and a CLI) may both create them: the second one waits, then sees them.
    await client.query('SELECT pg_advisory_lock(727274002)');
    await client.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
          CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${login}') THEN
          CREATE ROLE ${login} LOGIN;
        END IF;
      END $$`);
    await client.query(
      `ALTER ROLE ${login} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '${opts.password}'`,
    );
    await client.query(`GRANT ${role} TO ${login}`);
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274002)').catch(() => undefined);
    await client.end();
  }
}

/** `ownerUrl`'s database reached as `login` (password given), each connection switched to `role`. */
export function serviceLoginUrl(ownerUrl: string, opts: { login?: string; password: string; role?: string }): string {
  const u = new URL(ownerUrl);
  u.username = opts.login ?? SERVICE_LOGIN;
  u.password = opts.password;
  return asRole(u.toString(), opts.role ?? SERVICE_ROLE);
}

/** Who the service's sessions log in as, and whether that login could rewrite the audit log. */
export interface ServiceLoginCheck {
  login: string;
  superuser: boolean;
  /** The login owns the tables, or may act as their owner (member of the owner's role). */
  owner: boolean;
}

export async function checkServiceLogin(serviceUrl: string): Promise<ServiceLoginCheck> {
  const client = new Client({ connectionString: serviceUrl });
  await client.connect();
  try {
    const { rows } = await client.query<ServiceLoginCheck>(
      `SELECT session_user AS login, r.rolsuper AS superuser,
              coalesce((SELECT pg_has_role(session_user, c.relowner, 'MEMBER') FROM pg_class c
                          WHERE c.oid = to_regclass('public.audit_event')), false) AS owner
         FROM pg_roles r WHERE r.rolname = session_user`,
    );
    return rows[0];
  } finally {
    await client.end();
  }
}
