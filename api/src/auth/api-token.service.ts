import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { isUuid } from '../common/uuid';
import { DirectoryService, requirePerson } from '../directory/directory.service';
import { Role } from '../directory/role-assignment.entity';
import { authFailure } from './auth-failure';
import { actorOf, Principal } from './principal';

export const API_TOKEN_KINDS = ['personal', 'service'] as const;
export type ApiTokenKind = (typeof API_TOKEN_KINDS)[number];
/** A pipeline plans and applies policies, follows rollouts: it never decides on people's requests. */
export const SERVICE_TOKEN_ROLES: readonly Role[] = ['it-admin', 'national-admin'];
export const MAX_TOKEN_DAYS = 365;

const PREFIX: Record<ApiTokenKind, string> = { personal: 'mdm_pat_', service: 'mdm_svc_' };
const SHAPE = /^mdm_(pat|svc)_[A-Za-z0-9_-]{43}$/;

/** The service's own tokens look like `mdm_pat_…` / `mdm_svc_…`; anything else is a JWT of the identity provider. */
export function isApiToken(bearer: string): boolean {
  return bearer.startsWith('mdm_');
}

const hash = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface ApiTokenView {
  id: string;
  kind: ApiTokenKind;
  name: string;
  role: Role;
  /** null for national-admin. */
  ministry: string | null;
  /** The account it acts as: its owner (personal) or its own service account. */
  agentId: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface CreatedApiToken extends ApiTokenView {
  /** Shown once: only its hash is kept. */
  token: string;
}

interface Row {
  id: string;
  kind: ApiTokenKind;
  name: string;
  role: Role;
  ministry_code: string | null;
  agent_id: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const view = (r: Row): ApiTokenView => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  role: r.role,
  ministry: r.ministry_code,
  agentId: r.agent_id,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

const COLUMNS = `id, kind, name, role, ministry_code, agent_id, created_by, created_at, expires_at, revoked_at, last_used_at`;

/**
 * API access for scripts and pipelines (ProConnect's access tokens live 60 seconds and are opaque:
 * not for that). A personal token acts as its owner within one role they hold; a service token is
 * its own account with exactly one role (it-admin of a ministry, or national-admin). Both expire,
 * can be revoked, are stored as a hash only, and every creation and revocation is audited in the
 * same transaction. A deactivated owner's tokens are refused at once.
 */
@Injectable()
export class ApiTokenService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly directory: DirectoryService,
  ) {}

  async create(
    principal: Principal,
    input: { kind: ApiTokenKind; name: string; role: Role; ministry: string | null; expiresInDays: number },
  ): Promise<CreatedApiToken> {
    requirePerson(principal, 'create API tokens');
    const { kind, role, ministry } = input;
    const name = input.name.trim();
    if ((role === 'national-admin') !== (ministry === null))
      throw authFailure(
        'token-scope',
        role === 'national-admin'
          ? 'A national-admin token is national: give no ministry.'
          : `A ${role} token is scoped to one ministry: give its code.`,
      );
    const holds = principal.roles.some((r) => r.role === role && r.ministry === ministry);
    const nationalAdmin = principal.roles.some((r) => r.role === 'national-admin');
    const where = ministry ? ` in ${ministry}` : '';
    if (kind === 'personal' && !holds)
      throw authFailure(
        'token-scope',
        `You do not hold the ${role} role${where}: a token cannot give more than you have.`,
      );
    if (kind === 'service') {
      if (!SERVICE_TOKEN_ROLES.includes(role))
        throw authFailure(
          'token-scope',
          'A service token is for pipelines and monitoring: it holds it-admin (of one ministry) or national-admin.',
        );
      // National admins grant roles to others: a pipeline is another.
      if (!holds && !(nationalAdmin && role !== 'national-admin'))
        throw authFailure('token-scope', `You do not hold the ${role} role${where}: you cannot hand it to a pipeline.`);
    }
    const token = `${PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
    const row = await this.db.transaction(async (tx) => {
      if (ministry) {
        const [exists] = (await tx.query(`SELECT 1 FROM ministry WHERE code = $1`, [ministry])) as unknown[];
        if (!exists) throw authFailure('token-scope', `Unknown ministry "${ministry}".`);
      }
      const agentId =
        kind === 'service'
          ? (await this.directory.createServiceAccount(tx, name, ministry ?? principal.ministry)).id
          : principal.agentId;
      const [created] = (await tx.query(
        `INSERT INTO api_token (kind, name, agent_id, role, ministry_code, token_hash, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(days => $8)) RETURNING ${COLUMNS}`,
        [kind, name, agentId, role, ministry, hash(token), principal.agentId, input.expiresInDays],
      )) as Row[];
      await this.audit.record(tx, actorOf(principal), {
        action: 'api-token.created',
        entityType: 'api-token',
        entityId: created.id,
        ministry,
        after: { kind, name, role, ministry, agentId, expiresAt: created.expires_at.toISOString() },
      });
      return created;
    });
    return { ...view(row), token };
  }

  /** The caller's tokens (theirs, and those they created); every token for national admins. */
  async list(principal: Principal): Promise<ApiTokenView[]> {
    const everything = principal.roles.some((r) => r.role === 'national-admin') && !principal.via;
    const rows = (await this.db.query(
      `SELECT ${COLUMNS} FROM api_token ${everything ? '' : 'WHERE agent_id = $1 OR created_by = $1'}
        ORDER BY created_at DESC LIMIT 500`,
      everything ? [] : [principal.agentId],
    )) as Row[];
    return rows.map(view);
  }

  /** Revoked at once; someone else's token is not revealed to exist (404). */
  async revoke(principal: Principal, id: string): Promise<ApiTokenView> {
    const national = principal.roles.some((r) => r.role === 'national-admin') && !principal.via;
    return this.db.transaction(async (tx) => {
      const [row] = (
        isUuid(id) ? await tx.query(`SELECT ${COLUMNS} FROM api_token WHERE id = $1 FOR UPDATE`, [id]) : []
      ) as Row[];
      if (!row || !(national || row.agent_id === principal.agentId || row.created_by === principal.agentId))
        throw authFailure('token-not-found', `You have no API token with id "${id}".`);
      if (row.revoked_at) return view(row);
      const [[revoked]] = (await tx.query(
        `UPDATE api_token SET revoked_at = now(), revoked_by = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, actorOf(principal).label],
      )) as [Row[], number];
      await this.audit.record(tx, actorOf(principal), {
        action: 'api-token.revoked',
        entityType: 'api-token',
        entityId: id,
        ministry: row.ministry_code,
        before: { kind: row.kind, name: row.name, role: row.role, ministry: row.ministry_code, revoked: false },
        after: { revoked: true },
      });
      return view(revoked);
    });
  }

  /** The caller behind `Authorization: Bearer mdm_…`: refused when unknown, expired, revoked, or its account is deactivated. */
  async principalFor(token: string): Promise<Principal> {
    const refused = () =>
      authFailure('invalid-token', 'This API token is unknown, expired or revoked: ask for a new one.');
    if (!SHAPE.test(token)) throw refused();
    const [row] = (await this.db.query(
      `SELECT ${COLUMNS} FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [hash(token)],
    )) as Row[];
    if (!row) throw refused();
    const principal = await this.directory.principalForAgent(row.agent_id);
    const roles =
      row.kind === 'service'
        ? [{ role: row.role, ministry: row.ministry_code }]
        : principal.roles.filter((r) => r.role === row.role && r.ministry === row.ministry_code);
    await this.db.query(
      `UPDATE api_token SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [row.id],
    );
    return { ...principal, roles, via: { kind: row.kind, tokenId: row.id } };
  }
}
