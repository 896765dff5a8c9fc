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
