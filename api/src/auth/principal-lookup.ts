import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { displayName, DirectoryService } from '../directory/directory.service';
import { identityFrom, IdentityClaims } from './identity';
import { RATE_LIMIT_SETTINGS, RateLimitSettings } from '../security/rate-limit-settings';
import { agentRateKey, hitOf, Precounted } from '../security/rate-limit-store';
import { Principal, RoleGrant } from './principal';

/** An agent with the roles the database gives them now, and their request counted, as the statements below return them. */
interface PrincipalRow {
  id: string | null;
  sub: string;
  email: string;
  given_name: string;
  usual_name: string;
  ministry_code: string;
  deactivated: boolean;
  roles: RoleGrant[];
  /** rate_limit_hit's answer; null when not counted (no agent, or deactivated). */
  hit: { hits: number; blocked: boolean; retry_after_ms: number } | null;
}

const AGENT_WITH_ROLES = `a.id, a.sub, a.email, a.given_name, a.usual_name, a.ministry_code,
  a.deactivated_at IS NOT NULL AS deactivated,
  CASE WHEN a.kind = 'person' THEN coalesce(
    (SELECT json_agg(json_build_object('role', r.role, 'ministry', r.ministry_code)) FROM role_assignment r WHERE r.agent_id = a.id),
    '[]'::json) ELSE '[]'::json END AS roles`;

/**
 * The agent's request counted against their rate limit (rate_limit_hit, as RateLimitStore.hit does)
 * in the same statement, only for an active agent: CASE evaluates its branch only when the condition
 * holds, so nothing is counted otherwise. $2: the key's prefix, $3: the window in ms (0: not
 * counted), $4: the limit.
 */
const WITH_HIT = (lookup: string) => `WITH p AS (${lookup})
  SELECT p.*, CASE WHEN $3::bigint > 0 AND p.id IS NOT NULL AND NOT p.deactivated
    THEN (SELECT row_to_json(h) FROM rate_limit_hit($2::text || p.id, $3::bigint, $4::int) h) END AS hit
  FROM p`;

/** DirectoryService.findBySub: the person with this sub, else the agent an identity of that sub was linked to. */
const BY_SUB = `SELECT ${AGENT_WITH_ROLES} FROM agent a
  WHERE a.id = coalesce((SELECT id FROM agent WHERE sub = $1 AND kind = 'person'),
                        (SELECT agent_id FROM agent_identity WHERE sub = $1))`;

/** A live session's agent (id null when the agent no longer exists). */
const BY_SESSION = `SELECT s.agent_id AS session_agent, ${AGENT_WITH_ROLES}
  FROM session s LEFT JOIN agent a ON a.id = s.agent_id
  WHERE s.token_hash = $1 AND s.expires_at > now()`;

/**
 * The principal behind a request in one statement (agent and roles together, no entity
 * hydration), read on every request: a role removed or an account deactivated takes effect at the
 * next request, as before. Whatever is not the common case (a first request that provisions or
 * links the agent, a deactivated account, a session whose agent is gone) goes through
 * DirectoryService, which decides and words the refusal exactly as it always did.
 */
@Injectable()
export class PrincipalLookup {
  private readonly keyPrefix = agentRateKey('');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly directory: DirectoryService,
    @Optional() @Inject(RATE_LIMIT_SETTINGS) private readonly limits?: RateLimitSettings,
  ) {}

  /** The verified bearer token's agent (DirectoryService.principalFor); `counted` receives the rate-limit hit made with it. */
  async forClaims(claims: IdentityClaims, counted?: (pre: Precounted) => void): Promise<Principal> {
    // The same checks of the claims first (sub present and well formed, email not said unverified).
    const identity = identityFrom(claims, claims.email_verified === true);
    const row = await this.lookup(BY_SUB, identity.sub, counted);
    if (!row || row.deactivated) return this.directory.principalFor(claims);
    return principalOf(row);
  }

  /** A session cookie's agent (by its hash), null when no live session has it (OidcLoginService.principalForSession). */
  async forSession(tokenHash: string, counted?: (pre: Precounted) => void): Promise<Principal | null> {
    const row = (await this.lookup(BY_SESSION, tokenHash, counted)) as
      (PrincipalRow & { session_agent: string }) | undefined;
    if (!row) return null;
    if (row.id === null || row.deactivated) return this.directory.principalForAgent(row.session_agent);
    return principalOf(row);
  }

  private async lookup(
    sql: string,
    key: string,
    counted?: (pre: Precounted) => void,
  ): Promise<PrincipalRow | undefined> {
    const windowMs = counted && this.limits ? this.limits.windowSeconds * 1000 : 0;
    const limit = this.limits?.perUser ?? 0;
    const [row] = (await this.db.query(WITH_HIT(sql), [key, this.keyPrefix, windowMs, limit])) as PrincipalRow[];
    if (row?.id && row.hit && counted) counted({ key: agentRateKey(row.id), limit, windowMs, hit: hitOf(row.hit) });
    return row;
  }
}

function principalOf(row: PrincipalRow): Principal {
  return {
    agentId: row.id as string,
    sub: row.sub,
    email: row.email,
    displayName: displayName({ givenName: row.given_name, usualName: row.usual_name, email: row.email }),
    ministry: row.ministry_code,
    roles: row.roles,
  };
}
