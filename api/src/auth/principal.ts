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
  /** Set when the request came with one of the service's own API tokens (its roles are the token's scope). */
  via?: { kind: 'personal' | 'service'; tokenId: string };
}

/** Who did something, as the audit log records it: a person, or a named process (the policy CLI, the scheduler). */
export interface Actor {
  id: string | null;
  label: string;
}

export function actorOf(principal: Principal): Actor {
  const who = principal.email ? `${principal.displayName} <${principal.email}>` : principal.displayName;
  return { id: principal.agentId, label: principal.via?.kind === 'personal' ? `${who} (API token)` : who };
}
