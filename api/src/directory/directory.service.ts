import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { AuthError } from '../auth/auth.error';
import { authFailure } from '../auth/auth-failure';
import { IdentityClaims, identityFrom, VerifiedIdentity } from '../auth/identity';
import { Actor, actorOf, Principal } from '../auth/principal';
import { NotificationsService } from '../notifications/notifications.service';
import { Agent } from './agent.entity';
import { DirectoryError } from './directory.error';
import { Ministry } from './ministry.entity';
import { Role, RoleAssignment } from './role-assignment.entity';
import { isUuid } from '../common/uuid';
import { decodeCursor, foldedPattern, foldedSql, encodeCursor, INVALID_CURSOR } from '../common/keyset-cursor';

export interface AgentView {
  id: string;
  email: string;
  displayName: string;
  ministry: string;
  roles: { id: string; role: Role; ministry: string | null }[];
}

const SYSTEM: Actor = { id: null, label: 'system: first sign-in' };
const SIGN_IN: Actor = { id: null, label: 'system: sign-in' };

const ROLE_FR: Record<Role, string> = {
  agent: 'agent',
  approver: 'valideur des dérogations',
  'it-admin': 'administrateur informatique',
  'national-admin': 'administrateur national',
};

/** How an identity met for the first time was recognised as an agent already known. */
type LinkedBy = 'idp-uid' | 'email';

/**
 * Ministries, agents and their roles; turns a verified identity into a Principal.
 *
 * One person is one agent whatever the identity provider they come through. ProConnect gives each
 * (service, identity provider) pair its own `sub` and says to reconcile on the professional email:
 * an identity is found by its `sub`, else by the same `idp_id` + `uid` (the person at the same
 * identity provider), else by its verified email — then it is linked to that agent, audited —, else
 * a new agent is created in the ministry of its SIRET/SIREN or of its email domain.
 */
@Injectable()
export class DirectoryService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly notifications: NotificationsService,
  ) {}

  /**
   * The caller of a bearer JWT (its claims verified): known by `sub`, linked by a verified email
   * (`email_verified: true`), or created. Deactivated accounts are refused.
   */
  async principalFor(claims: IdentityClaims): Promise<Principal> {
    const identity = identityFrom(claims, claims.email_verified === true);
    return this.principalOf(await this.resolve(identity, false));
  }

  /** The browser sign-in's identity (verified id_token + userinfo): the agent, their profile refreshed. */
  async signIn(identity: VerifiedIdentity): Promise<Principal> {
    return this.principalOf(await this.resolve(identity, true));
  }

  /** The agent behind a session or an API token, with the roles the database gives them now. */
  async principalForAgent(agentId: string): Promise<Principal> {
    const agent = await this.db.getRepository(Agent).findOneBy({ id: agentId });
    if (!agent) throw AuthError.unauthenticated('session-expired', 'This account no longer exists: sign in again.');
    return this.principalOf(agent);
  }

  private async principalOf(agent: Agent): Promise<Principal> {
    if (agent.deactivatedAt)
      throw authFailure(
        'account-deactivated',
        'This account has been deactivated: ask a national administrator if you still need access.',
      );
    const roles =
      agent.kind === 'person' ? await this.db.getRepository(RoleAssignment).findBy({ agentId: agent.id }) : [];
    return {
      agentId: agent.id,
      sub: agent.sub,
      email: agent.email,
      displayName: displayName(agent),
      ministry: agent.ministryCode,
      roles: roles.map((r) => ({ role: r.role, ministry: r.ministryCode })),
    };
  }

  private async resolve(identity: VerifiedIdentity, signIn: boolean): Promise<Agent> {
    const known = await this.findBySub(this.db.manager, identity.sub);
    if (known) {
      if (signIn && !known.deactivatedAt) await this.refresh(known, identity);
      return known;
    }
    return this.db.transaction(async (tx) => {
      // Two first requests of the same person at once create one agent: the second waits, then finds it.
      const key = identity.emailVerified ? `email:${identity.email}` : `sub:${identity.sub}`;
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`agent-identity:${key}`]);
      const raced = await this.findBySub(tx, identity.sub);
      if (raced) return raced;
      const sameAccount =
        identity.idpId && identity.uid ? await this.findByIdpUid(tx, identity.idpId, identity.uid) : null;
      if (sameAccount) return this.link(tx, sameAccount, identity, 'idp-uid', signIn);
      const sameEmail = identity.emailVerified ? await this.findByVerifiedEmail(tx, identity.email) : null;
      if (sameEmail) return this.link(tx, sameEmail, identity, 'email', signIn);
      return this.provision(tx, identity, signIn);
    });
  }

  private async findBySub(tx: EntityManager, sub: string): Promise<Agent | null> {
    const agents = tx.getRepository(Agent);
    const direct = await agents.findOneBy({ sub, kind: 'person' });
    if (direct) return direct;
    const [linked] = (await tx.query(`SELECT agent_id FROM agent_identity WHERE sub = $1`, [sub])) as {
      agent_id: string;
    }[];
    return linked ? agents.findOneBy({ id: linked.agent_id }) : null;
  }

  private async findByIdpUid(tx: EntityManager, idpId: string, uid: string): Promise<Agent | null> {
    const [row] = (await tx.query(
      `SELECT id FROM agent WHERE kind = 'person' AND idp_id = $1 AND uid = $2
       UNION ALL SELECT agent_id FROM agent_identity WHERE idp_id = $1 AND uid = $2
       LIMIT 1`,
      [idpId, uid],
    )) as { id: string }[];
    return row ? tx.getRepository(Agent).findOneBy({ id: row.id }) : null;
  }

  private async findByVerifiedEmail(tx: EntityManager, email: string): Promise<Agent | null> {
    const [row] = (await tx.query(
      `SELECT id FROM agent WHERE kind = 'person' AND email_verified AND lower(email) = $1 ORDER BY created_at LIMIT 1`,
      [email],
    )) as { id: string }[];
    return row ? tx.getRepository(Agent).findOneBy({ id: row.id }) : null;
  }

  /**
   * Another identity of a known agent. A second account of the same identity provider for the same
   * email is someone else (an address handed to a successor, a homonym): refused, never merged.
   */
  private async link(
    tx: EntityManager,
    agent: Agent,
    identity: VerifiedIdentity,
    linkedBy: LinkedBy,
    signIn: boolean,
  ): Promise<Agent> {
    if (linkedBy === 'email' && identity.idpId) {
      const [other] = (await tx.query(
        `SELECT 1 FROM agent WHERE id = $1 AND idp_id = $2
         UNION ALL SELECT 1 FROM agent_identity WHERE agent_id = $1 AND idp_id = $2 LIMIT 1`,
        [agent.id, identity.idpId],
      )) as unknown[];
      if (other)
        throw authFailure(
          'identity-conflict',
          `Another account of the same identity provider already signs in as ${identity.email}: ask your ministry's digital directorate to check who this address belongs to.`,
        );
    }
    await tx.query(
      `INSERT INTO agent_identity (sub, agent_id, idp_id, uid, email, last_login_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [identity.sub, agent.id, identity.idpId, identity.uid, identity.email, signIn ? new Date() : null],
    );
    await this.audit.record(tx, SIGN_IN, {
      action: 'agent.identity-linked',
      entityType: 'agent',
      entityId: agent.id,
      ministry: agent.ministryCode,
      after: { sub: identity.sub, idpId: identity.idpId, uid: identity.uid, email: identity.email, linkedBy },
    });
    return agent;
  }

  /** A first sign-in creates the agent in the ministry of their organisation, with the `agent` role only. */
  private async provision(tx: EntityManager, identity: VerifiedIdentity, signIn: boolean): Promise<Agent> {
    const domain = identity.email.split('@')[1] ?? '';
    const ministry = await this.ministryFor(tx, identity, domain);
    if (!ministry) {
      const organisation = identity.siret ? ` (SIRET ${identity.siret})` : '';
      throw AuthError.forbidden(
        `Your account (${identity.email || 'no email'}${organisation}) belongs to no ministry known to this service: ask your ministry's digital directorate to register the domain "${domain}"${identity.siret ? ' or the SIRET' : ''}.`,
        'unknown-organisation',
      );
    }
    const [{ id }] = (await tx.query(
      `INSERT INTO agent (sub, idp_id, uid, email, email_verified, given_name, usual_name, organizational_unit, ministry_code, last_login_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [
        identity.sub,
        identity.idpId,
        identity.uid,
        identity.email,
        identity.emailVerified,
        identity.givenName,
        identity.usualName,
        identity.organizationalUnit,
        ministry.code,
        signIn ? new Date() : null,
      ],
    )) as { id: string }[];
    await tx.query(
      `INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) VALUES ($1, 'agent', $2, $3)`,
      [id, ministry.code, SYSTEM.label],
    );
    await this.audit.record(tx, SYSTEM, {
      action: 'agent.provisioned',
      entityType: 'agent',
      entityId: id,
      ministry: ministry.code,
      after: {
        sub: identity.sub,
        email: identity.email,
        emailVerified: identity.emailVerified,
        idpId: identity.idpId,
        siret: identity.siret,
        ministry: ministry.code,
        roles: ['agent'],
      },
    });
    return tx.getRepository(Agent).findOneByOrFail({ id });
  }

  /** The organisation decides (ProConnect's SIRET, or its SIREN), else the email domain. */
  private async ministryFor(tx: EntityManager, identity: VerifiedIdentity, domain: string): Promise<Ministry | null> {
    const ministries = tx.getRepository(Ministry);
    const bySiret = (value: string) =>
      ministries.createQueryBuilder('m').where(':value = ANY(m.siret)', { value }).getOne();
    const siren = identity.siren ?? identity.siret?.slice(0, 9) ?? null;
    return (
      (identity.siret ? await bySiret(identity.siret) : null) ??
      (siren ? await bySiret(siren) : null) ??
      (domain
        ? await ministries.createQueryBuilder('m').where(':domain = ANY(m.email_domains)', { domain }).getOne()
        : null)
    );
  }

  /**
   * A known agent signs in again: their last sign-in is noted, and what their identity provider now
   * says of them (name, verified email, unit) replaces what was stored — audited when it changes.
   */
  private async refresh(agent: Agent, identity: VerifiedIdentity): Promise<void> {
    const now = new Date();
    await this.db.transaction(async (tx) => {
      await tx.getRepository(Agent).update({ id: agent.id }, { lastLoginAt: now });
      if (agent.sub !== identity.sub)
        await tx.query(`UPDATE agent_identity SET last_login_at = $2 WHERE sub = $1`, [identity.sub, now]);
      const next: Partial<Pick<Agent, 'givenName' | 'usualName' | 'email' | 'organizationalUnit'>> = {};
      if (identity.givenName && identity.givenName !== agent.givenName) next.givenName = identity.givenName;
      if (identity.usualName && identity.usualName !== agent.usualName) next.usualName = identity.usualName;
      if (identity.emailVerified && identity.email !== agent.email.toLowerCase()) next.email = identity.email;
      if (identity.organizationalUnit && identity.organizationalUnit !== agent.organizationalUnit)
        next.organizationalUnit = identity.organizationalUnit;
      const changed = Object.keys(next) as (keyof typeof next)[];
      if (changed.length === 0) return;
      await tx.getRepository(Agent).update({ id: agent.id }, next);
      await this.audit.record(tx, SIGN_IN, {
        action: 'agent.profile-updated',
        entityType: 'agent',
        entityId: agent.id,
        ministry: agent.ministryCode,
        before: Object.fromEntries(changed.map((k) => [k, agent[k]])),
        after: next,
      });
      Object.assign(agent, next);
    });
  }

  async listMinistries(): Promise<Ministry[]> {
    return this.db.getRepository(Ministry).find({ order: { code: 'ASC' } });
  }

  async getAgent(principal: Principal, agentId: string): Promise<AgentView> {
    const agent = await this.findAgent(agentId);
    if (agent.id !== principal.agentId) this.access.requireAccess(principal, 'agent.read', agent.ministryCode);
    return this.view(agent);
  }

  /** A ministry's people by email, one page at a time: keyset on (email, id), `q` in name or email. */
  async listAgents(
    principal: Principal,
    ministry: string,
    filter: { q?: string; limit?: number; cursor?: string } = {},
  ): Promise<{ total: number; items: AgentView[]; nextCursor: string | null }> {
    this.access.requireAccess(principal, 'agent.read', ministry);
    const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
    if (filter.cursor !== undefined && !after) throw new DirectoryError('invalid-cursor', 'invalid', INVALID_CURSOR);
    const query = this.db
      .getRepository(Agent)
      .createQueryBuilder('a')
      .where(`a.ministry_code = :ministry AND a.kind = 'person'`, { ministry });
    const q = filter.q?.trim();
    if (q)
      query.andWhere(
        `(${foldedSql('a.email')} LIKE :q OR ${foldedSql(`a.given_name || ' ' || a.usual_name`)} LIKE :q)`,
        { q: foldedPattern(q) },
      );
    const total = await query.getCount();
    if (after) query.andWhere('(a.email, a.id) > (:key, CAST(:id AS uuid))', { key: after.key, id: after.id });
    const limit = filter.limit ?? 50;
    // One more than asked: whether a next page exists, without a second count.
    const rows = await query
      .orderBy('a.email', 'ASC')
      .addOrderBy('a.id', 'ASC')
      .limit(limit + 1)
      .getMany();
    const agents = rows.slice(0, limit);
    const last = agents[agents.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor({ key: last.email, id: last.id }) : null;
    return { total, items: await Promise.all(agents.map((a) => this.view(a))), nextCursor };
  }

  async grantRole(principal: Principal, agentId: string, role: Role, ministry: string | null): Promise<AgentView> {
    this.access.requireAccess(principal, 'roles.manage', null);
    requirePerson(principal, 'grant roles');
    if ((role === 'national-admin') !== (ministry === null)) {
      throw new DirectoryError(
        'role-scope',
        'invalid',
        role === 'national-admin'
          ? 'The national-admin role is held nationally: give no ministry.'
          : `The ${role} role is held in one ministry: give its code.`,
      );
    }
    if (ministry && !(await this.db.getRepository(Ministry).existsBy({ code: ministry }))) {
      throw new DirectoryError('unknown-ministry', 'not-found', `Unknown ministry "${ministry}".`);
    }
    const agent = await this.findAgent(agentId);
    // Separation of duties: a role is always given by someone else (a national admin may not make herself approver).
    if (agent.id === principal.agentId)
      throw authFailure('self-grant', 'Nobody grants a role to themselves: ask another national administrator.');
    if (agent.kind !== 'person')
      throw new DirectoryError(
        'role-scope',
        'invalid',
        "A service token's account holds the one role of its token; create another token instead.",
      );
    await this.db.transaction(async (tx) => {
      const rows = (await tx.query(
        `INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id`,
        [agent.id, role, ministry, actorOf(principal).label],
      )) as { id: string }[];
      if (rows.length === 0)
        throw new DirectoryError(
          'role-exists',
          'conflict',
          `${agent.email} already holds ${role}${ministry ? ` in ${ministry}` : ''}.`,
        );
      await this.audit.record(tx, actorOf(principal), {
        action: 'role.granted',
        entityType: 'agent',
        entityId: agent.id,
        ministry,
        after: { role, ministry },
      });
      await this.notifications.notify(tx, [agent.id], {
        kind: 'role.granted',
        title: `Nouveau rôle : ${ROLE_FR[role]}`,
        body: `${principal.displayName} vous a attribué le rôle ${ROLE_FR[role]}${ministry ? ` (${ministry})` : ''}.`,
      });
    });
    return this.view(agent);
  }

  async revokeRole(principal: Principal, agentId: string, assignmentId: string): Promise<AgentView> {
    this.access.requireAccess(principal, 'roles.manage', null);
    requirePerson(principal, 'remove roles');
    const agent = await this.findAgent(agentId);
    await this.db.transaction(async (tx) => {
      const assignment = isUuid(assignmentId)
        ? await tx.getRepository(RoleAssignment).findOneBy({ id: assignmentId, agentId: agent.id })
        : null;
      if (!assignment)
        throw new DirectoryError('role-not-found', 'not-found', 'This agent holds no such role assignment.');
      if (assignment.role === 'national-admin' && assignment.agentId === principal.agentId) {
        throw new DirectoryError(
          'self-demotion',
          'conflict',
          'You cannot remove your own national-admin role; ask another national administrator.',
        );
      }
      await tx.getRepository(RoleAssignment).delete({ id: assignment.id });
      await this.audit.record(tx, actorOf(principal), {
        action: 'role.revoked',
        entityType: 'agent',
        entityId: agent.id,
        ministry: assignment.ministryCode,
        before: { role: assignment.role, ministry: assignment.ministryCode },
      });
      await this.notifications.notify(tx, [agent.id], {
        kind: 'role.revoked',
        title: `Rôle retiré : ${ROLE_FR[assignment.role]}`,
        body: `${principal.displayName} vous a retiré le rôle ${ROLE_FR[assignment.role]}${assignment.ministryCode ? ` (${assignment.ministryCode})` : ''}.`,
      });
    });
    return this.view(agent);
  }

  /**
   * An agent who leaves: from the commit on, their bearer tokens, API tokens and sessions are refused
   * (sessions are deleted, API tokens revoked, and every request checks the account). Audited.
   */
  async deactivate(principal: Principal, agentId: string, reason: string): Promise<AgentView> {
    this.access.requireAccess(principal, 'roles.manage', null);
    requirePerson(principal, 'deactivate accounts');
    const agent = await this.findAgent(agentId);
    if (agent.id === principal.agentId)
      throw authFailure(
        'self-deactivation',
        'You cannot deactivate your own account; ask another national administrator.',
      );
    await this.db.transaction(async (tx) => {
      const updated = (await tx.query(
        `UPDATE agent SET deactivated_at = now(), deactivated_by = $2, deactivation_reason = $3
          WHERE id = $1 AND deactivated_at IS NULL RETURNING id`,
        [agent.id, actorOf(principal).label, reason],
      )) as [unknown[], number];
      if (updated[1] === 0) return; // already deactivated: nothing changes
      const sessions = (await tx.query(`DELETE FROM session WHERE agent_id = $1`, [agent.id])) as [unknown[], number];
      const tokens = (await tx.query(
        `UPDATE api_token SET revoked_at = now(), revoked_by = $2 WHERE agent_id = $1 AND revoked_at IS NULL`,
        [agent.id, actorOf(principal).label],
      )) as [unknown[], number];
      await this.audit.record(tx, actorOf(principal), {
        action: 'agent.deactivated',
        entityType: 'agent',
        entityId: agent.id,
        ministry: agent.ministryCode,
        before: { active: true },
        after: { active: false, reason, sessionsEnded: sessions[1], apiTokensRevoked: tokens[1] },
      });
    });
    return this.view(agent);
  }

  async reactivate(principal: Principal, agentId: string): Promise<AgentView> {
    this.access.requireAccess(principal, 'roles.manage', null);
    requirePerson(principal, 'reactivate accounts');
    const agent = await this.findAgent(agentId);
    await this.db.transaction(async (tx) => {
      const updated = (await tx.query(
        `UPDATE agent SET deactivated_at = NULL, deactivated_by = NULL, deactivation_reason = NULL
          WHERE id = $1 AND deactivated_at IS NOT NULL RETURNING id`,
        [agent.id],
      )) as [unknown[], number];
      if (updated[1] === 0) return;
      await this.audit.record(tx, actorOf(principal), {
        action: 'agent.reactivated',
        entityType: 'agent',
        entityId: agent.id,
        ministry: agent.ministryCode,
        before: { active: false, reason: agent.deactivationReason },
        after: { active: true },
      });
    });
    return this.view(agent);
  }

  /** The account behind a service token: no identity provider, no role of its own (the token's scope is its role). */
  async createServiceAccount(tx: EntityManager, name: string, ministry: string): Promise<Agent> {
    const [{ id }] = (await tx.query(
      `INSERT INTO agent (kind, sub, email, email_verified, usual_name, ministry_code)
       VALUES ('service', 'service:' || gen_random_uuid(), '', false, $1, $2) RETURNING id`,
      [`Jeton de service « ${name} »`, ministry],
    )) as { id: string }[];
    return tx.getRepository(Agent).findOneByOrFail({ id });
  }

  private async findAgent(agentId: string): Promise<Agent> {
    const agent = isUuid(agentId) ? await this.db.getRepository(Agent).findOneBy({ id: agentId }) : null;
    if (!agent) throw new DirectoryError('agent-not-found', 'not-found', `No agent with id "${agentId}".`);
    return agent;
  }

  private async view(agent: Agent): Promise<AgentView> {
    const roles = await this.db
      .getRepository(RoleAssignment)
      .find({ where: { agentId: agent.id }, order: { createdAt: 'ASC' } });
    return {
      id: agent.id,
      email: agent.email,
      displayName: displayName(agent),
      ministry: agent.ministryCode,
      roles: roles.map((r) => ({ id: r.id, role: r.role, ministry: r.ministryCode })),
    };
  }
}

/** Managing people (roles, accounts, tokens) takes a person signed in, never one of the service's API tokens. */
export function requirePerson(principal: Principal, what: string): void {
  if (principal.via)
    throw authFailure(
      'person-required',
      `Only a person signed in may ${what}, not an API token: sign in through the identity provider.`,
    );
}

export function displayName(agent: Pick<Agent, 'givenName' | 'usualName' | 'email'>): string {
  return `${agent.givenName} ${agent.usualName}`.trim() || agent.email;
}
