import type { Role } from '../directory/role-assignment.entity';

export interface RoleGrant {
  role: Role;
  /** null for national-admin, held nationally. */
  ministry: string | null;
}

/** Who is calling: the agent behind a verified token, with the roles the database gives them. */
export interface Principal {
  agentId: string;
  sub: string;
  email: string;
  displayName: string;
  ministry: string;
  roles: RoleGrant[];
}

/** Who did something, as the audit log records it: a person, or a named process (the policy CLI, the scheduler). */
export interface Actor {
  id: string | null;
  label: string;
}

export function actorOf(principal: Principal): Actor {
  return { id: principal.agentId, label: `${principal.displayName} <${principal.email}>` };
}
