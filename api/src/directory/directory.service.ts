import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { AuthError } from '../auth/auth.error';
import type { IdentityClaims } from '../auth/jwt-verifier.service';
import { Actor, actorOf, Principal } from '../auth/principal';
import { Agent } from './agent.entity';
import { DirectoryError } from './directory.error';
import { Ministry } from './ministry.entity';
import { Role, RoleAssignment } from './role-assignment.entity';
import { isUuid } from '../common/uuid';

export interface AgentView {
  id: string;
  email: string;
  displayName: string;
  ministry: string;
  roles: { id: string; role: Role; ministry: string | null }[];
}

const SYSTEM: Actor = { id: null, label: 'system: first sign-in' };

/** Ministries, agents and their roles; turns a verified identity into a Principal. */
@Injectable()
export class DirectoryService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  /**
   * Users are matched on `sub`. A first sign-in creates the agent in the ministry that owns the
   * email domain (or SIRET), with the `agent` role: other roles are granted in the database.
   */
  async principalFor(claims: IdentityClaims): Promise<Principal> {
    let agent = await this.db.getRepository(Agent).findOneBy({ sub: claims.sub });
    if (!agent) agent = await this.provision(claims);
    const roles = await this.db.getRepository(RoleAssignment).findBy({ agentId: agent.id });
    return {
      agentId: agent.id,
      sub: agent.sub,
      email: agent.email,
      displayName: displayName(agent),
      ministry: agent.ministryCode,
      roles: roles.map((r) => ({ role: r.role, ministry: r.ministryCode })),
    };
  }

  private async provision(claims: IdentityClaims): Promise<Agent> {
    const email = (claims.email ?? '').toLowerCase();
    const domain = email.split('@')[1] ?? '';
    return this.db.transaction(async (tx) => {
      const ministry = await this.ministryFor(tx, domain, claims.siret);
      if (!ministry) {
        throw AuthError.forbidden(
          `Your account (${email || 'no email'}) belongs to no ministry known to this service: ask your ministry's digital directorate to register the domain "${domain}".`,
          'unknown-organisation',
        );
      }
      await tx.query(
        `INSERT INTO agent (sub, email, given_name, usual_name, ministry_code) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sub) DO NOTHING`,
        [claims.sub, email, claims.given_name ?? '', claims.usual_name ?? '', ministry.code],
      );
      const agent = await tx.getRepository(Agent).findOneByOrFail({ sub: claims.sub });
      const inserted = await tx.query(
        `INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) VALUES ($1, 'agent', $2, $3) ON CONFLICT DO NOTHING RETURNING id`,
        [agent.id, ministry.code, SYSTEM.label],
      );
      if ((inserted as unknown[]).length > 0) {
        await this.audit.record(tx, SYSTEM, {
          action: 'agent.provisioned',
          entityType: 'agent',
          entityId: agent.id,
          ministry: ministry.code,
          after: { sub: agent.sub, email: agent.email, ministry: ministry.code, roles: ['agent'] },
        });
      }
      return agent;
    });
  }

  private async ministryFor(tx: EntityManager, domain: string, siret?: string): Promise<Ministry | null> {
    const byDomain = await tx
      .getRepository(Ministry)
      .createQueryBuilder('m')
      .where(':domain = ANY(m.email_domains)', { domain })
      .getOne();
    if (byDomain || !siret) return byDomain;
    return tx.getRepository(Ministry).createQueryBuilder('m').where(':siret = ANY(m.siret)', { siret }).getOne();
  }

  async listMinistries(): Promise<Ministry[]> {
    return this.db.getRepository(Ministry).find({ order: { code: 'ASC' } });
  }

  async getAgent(principal: Principal, agentId: string): Promise<AgentView> {
    const agent = await this.findAgent(agentId);
    if (agent.id !== principal.agentId) this.access.requireAccess(principal, 'agent.read', agent.ministryCode);
    return this.view(agent);
  }

  async listAgents(principal: Principal, ministry: string): Promise<AgentView[]> {
    this.access.requireAccess(principal, 'agent.read', ministry);
    const agents = await this.db
      .getRepository(Agent)
      .find({ where: { ministryCode: ministry }, order: { email: 'ASC' }, take: 500 });
    return Promise.all(agents.map((a) => this.view(a)));
  }

  async grantRole(principal: Principal, agentId: string, role: Role, ministry: string | null): Promise<AgentView> {
    this.access.requireAccess(principal, 'roles.manage', null);
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
    });
    return this.view(agent);
  }

  async revokeRole(principal: Principal, agentId: string, assignmentId: string): Promise<AgentView> {
    this.access.requireAccess(principal, 'roles.manage', null);
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
    });
    return this.view(agent);
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

export function displayName(agent: Pick<Agent, 'givenName' | 'usualName' | 'email'>): string {
  return `${agent.givenName} ${agent.usualName}`.trim() || agent.email;
}
