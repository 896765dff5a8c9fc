import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { Actor, actorOf, Principal } from '../auth/principal';
import { App } from '../catalog/app.entity';
import { Device } from '../devices/device.entity';
import { fleetSql } from '../devices/fleet-sql';
import { queryRecords } from '../database/query-records';
import { Agent } from '../directory/agent.entity';
import { NotificationsService } from '../notifications/notifications.service';
import { blockOf } from '../policies/effective-policy.resolver';
import { EffectivePolicyService } from '../policies/effective-policy.service';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { Exemption, ExemptionStatus } from './exemption.entity';
import { addDays, ExemptionAction, TRANSITIONS } from './exemption-lifecycle';
import { ExemptionError } from './exemption.error';
import { EXEMPTION_VIEW_SQL, ExemptionView, ExemptionViewRow, toView } from './exemption-view';
import { ApproveExemptionDto, ExemptionQueueQuery, RequestExemptionDto } from './exemptions.dto';
import { ExemptionPageDto } from './exemptions.responses';
import { isUuid } from '../common/uuid';
import { decodeCursor, encodeCursor, INVALID_CURSOR, KeysetCursor } from '../common/keyset-cursor';
import { csvParisDateTime, FRENCH_EXCEL_CSV, stringifyCsv } from '../common/csv';

const STATUS_FR: Record<ExemptionStatus, string> = {
  pending: 'en attente',
  approved: 'accordée',
  denied: 'refusée',
  cancelled: 'annulée',
  revoked: 'révoquée',
  expired: 'expirée',
};

/**
 * The exemption workflow: an agent asks to lift one block for an institutional need; an approver
 * of their ministry's digital directorate decides. Every decision recomputes the agent's devices'
 * desired policy and queues their push in the same transaction, with its audit event.
 */
@Injectable()
export class ExemptionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly effective: EffectivePolicyService,
    private readonly groups: PolicyGroupService,
    private readonly notifications: NotificationsService,
  ) {}

  async request(principal: Principal, dto: RequestExemptionDto, renewalOf?: Exemption): Promise<ExemptionView> {
    this.access.requireAccess(principal, 'exemption.request', principal.ministry);
    const app = await this.db.getRepository(App).findOneBy({ slug: dto.app });
    if (!app)
      throw new ExemptionError('unknown-app', 'not-found', `Unknown app "${dto.app}": it is not in the catalog.`);
    let device: Device | null = null;
    if (dto.deviceId) {
      device = await this.db.getRepository(Device).findOneBy({ id: dto.deviceId, agentId: principal.agentId });
      if (!device) throw new ExemptionError('unknown-device', 'not-found', 'This device is not one of yours.');
    }
    const policy = device
      ? await this.effective.resolveDevice(this.db.manager, device)
      : await this.effective.resolve(
          this.db.manager,
          principal.ministry,
          await this.effective.activeExemptions(this.db.manager, principal.agentId, null),
        );
    const renewing = renewalOf !== undefined;
    const block = blockOf(policy, app.slug);
    const liftedAlready = policy.exemptedApps.includes(app.slug);
    if (!block.blocked && !(renewing && liftedAlready)) {
      throw new ExemptionError(
        'not-blocked',
        'invalid',
        `${app.name} is not blocked for you${liftedAlready ? ': you already hold an active exemption for it' : ''}; there is nothing to exempt.`,
      );
    }
    const rule = policy.apps.find((a) => a.app === app.slug);
    const exemptable = rule ? rule.exemptable : block.exemptable;
    const maxDays = rule ? rule.maxExemptionDays : block.maxExemptionDays;
    if (!exemptable) {
      const basis = rule?.legalBasis[0] ? ` (${rule.legalBasis[0]})` : '';
      throw new ExemptionError(
        'not-exemptable',
        'invalid',
        `${app.name} is blocked by a rule that allows no exemption${basis}.`,
      );
    }
    if (maxDays !== null && dto.days > maxDays) {
      throw new ExemptionError(
        'period-too-long',
        'invalid',
        `${dto.days} days is longer than the ${maxDays} days the rule allows for ${app.name}.`,
      );
    }

    return this.db.transaction(async (tx) => {
      const existing = await tx.query(
        `SELECT e.id, e.status FROM exemption e WHERE e.agent_id = $1 AND e.app_slug = $2 AND (e.status = 'pending' OR (${fleetSql.exemptionActive('e')}))`,
        [principal.agentId, app.slug],
      );
      const blocking = (existing as { id: string; status: ExemptionStatus }[]).filter(
        (e) => !(renewing && e.id === renewalOf?.id),
      );
      if (blocking.length > 0) {
        throw new ExemptionError(
          'already-exists',
          'conflict',
          `You already have ${blocking[0].status === 'pending' ? 'a pending request' : 'an active exemption'} for ${app.name} (${blocking[0].id}).`,
        );
      }
      let row: Exemption;
      try {
        row = await tx.getRepository(Exemption).save({
          agentId: principal.agentId,
          ministryCode: principal.ministry,
          appSlug: app.slug,
          deviceId: device?.id ?? null,
          justification: dto.justification.trim(),
          requestedDays: dto.days,
          status: 'pending',
          requestedAt: new Date(),
          renewalOf: renewalOf?.id ?? null,
        });
      } catch (e) {
        if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === '23505') {
          throw new ExemptionError('already-exists', 'conflict', `You already have a pending request for ${app.name}.`);
        }
        throw e;
      }
      await this.audit.record(tx, actorOf(principal), {
        action: renewing ? 'exemption.renewal-requested' : 'exemption.requested',
        entityType: 'exemption',
        entityId: row.id,
        ministry: principal.ministry,
        after: {
          app: app.slug,
          device: device?.id ?? null,
          days: dto.days,
          justification: row.justification,
          renewalOf: renewalOf?.id ?? null,
        },
      });
      return this.view(tx, row.id);
    });
  }

  async renew(principal: Principal, id: string, justification?: string): Promise<ExemptionView> {
    const current = await this.find(this.db.manager, id);
    if (current.agentId !== principal.agentId)
      throw new ExemptionError('not-yours', 'forbidden', 'Only the agent who holds an exemption can ask to renew it.');
    if (current.status !== 'approved' || (current.validUntil && current.validUntil <= new Date())) {
      throw new ExemptionError(
        'invalid-transition',
        'conflict',
        `Only an active exemption can be renewed; this one is ${STATUS_FR[current.status]}.`,
        { status: current.status },
      );
    }
    return this.request(
      principal,
      {
        app: current.appSlug,
        deviceId: current.deviceId ?? undefined,
        justification: justification ?? current.justification,
        days: current.approvedDays ?? current.requestedDays,
      },
      current,
    );
  }

  async mine(principal: Principal): Promise<ExemptionView[]> {
    const rows = (await this.db.query(`${EXEMPTION_VIEW_SQL} WHERE e.agent_id = $1 ORDER BY e.requested_at DESC`, [
      principal.agentId,
    ])) as ExemptionViewRow[];
    return rows.map(toView);
  }

  /** The approvers' queue: oldest first, filtered by status, app and age. */
  async queue(principal: Principal, ministry: string, q: ExemptionQueueQuery): Promise<ExemptionPageDto> {
    this.access.requireAccess(principal, 'exemption.read', ministry);
    const after = q.cursor === undefined ? undefined : decodeQueueCursor(q.cursor);
    if (after && q.offset)
      throw new ExemptionError('invalid-cursor', 'invalid', 'Use either cursor or offset to page, not both.');
    const where = ['e.ministry_code = $1', 'e.status = $2'];
    const params: unknown[] = [ministry, q.status ?? 'pending'];
    if (q.app) {
      params.push(q.app);
      where.push(`e.app_slug = $${params.length}`);
    }
    if (q.minAgeDays !== undefined) {
      params.push(q.minAgeDays);
      where.push(`e.requested_at <= now() - make_interval(days => $${params.length}::int)`);
    }
    const filter = where.join(' AND ');
    const [{ total }] = (await this.db.query(
      `SELECT count(*)::int AS total FROM exemption e WHERE ${filter}`,
      params,
    )) as { total: number }[];
    const page = [...params];
    let pageFilter = filter;
    if (after) {
      page.push(after.key, after.id);
      pageFilter += ` AND (e.requested_at, e.id) > ($${page.length - 1}::timestamptz, $${page.length}::uuid)`;
    }
    const limit = q.limit ?? 50;
    // One more than asked: whether a next page exists, without a second count.
    page.push(limit + 1, q.offset ?? 0);
    const rows = (await this.db.query(
      `${EXEMPTION_VIEW_SQL} WHERE ${pageFilter} ORDER BY e.requested_at ASC, e.id ASC LIMIT $${page.length - 1} OFFSET $${page.length}`,
      page,
    )) as ExemptionViewRow[];
    const items = rows.slice(0, limit).map(toView);
    const last = items[items.length - 1];
    let nextCursor: string | null = null;
    if (rows.length > limit && last) {
      // The key at the database's precision (microseconds): a JavaScript Date would round it to the millisecond.
      const [{ at }] = (await this.db.query(
        `SELECT to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM exemption WHERE id = $1`,
        [last.id],
      )) as { at: string }[];
      nextCursor = encodeCursor({ key: at, id: last.id });
    }
    return { total, items, nextCursor };
  }

  async get(principal: Principal, id: string): Promise<ExemptionView> {
    const view = await this.view(this.db.manager, id);
    if (view.agent.id !== principal.agentId) this.access.requireAccess(principal, 'exemption.read', view.ministry);
    return view;
  }

  async approve(principal: Principal, id: string, dto: ApproveExemptionDto): Promise<ExemptionView> {
    const request = await this.checkDecider(principal, id, 'approve');
    const days = dto.days ?? request.requestedDays;
    if (days > request.requestedDays) {
      throw new ExemptionError(
        'period-too-long',
        'invalid',
        `You may grant at most the ${request.requestedDays} days requested.`,
      );
    }
    return this.db.transaction(async (tx) => {
      const agent = await tx.getRepository(Agent).findOneByOrFail({ id: request.agentId });
      const device = request.deviceId ? await tx.getRepository(Device).findOneBy({ id: request.deviceId }) : null;
      const policy = device
        ? await this.effective.resolveDevice(tx, device)
        : await this.effective.resolve(
            tx,
            agent.ministryCode,
            await this.effective.activeExemptions(tx, agent.id, null),
          );
      const rule = policy.apps.find((a) => a.app === request.appSlug);
      const block = blockOf(policy, request.appSlug);
      const max = rule ? rule.maxExemptionDays : block.maxExemptionDays;
      const renewing = request.renewalOf !== null && policy.exemptedApps.includes(request.appSlug);
      if (!renewing && (!block.blocked || !(rule ? rule.exemptable : block.exemptable))) {
        throw new ExemptionError(
          'rule-changed',
          'conflict',
          'The policy changed since this request: the app is no longer blocked, or no longer exemptable. Deny the request instead.',
        );
      }
      if (max !== null && days > max)
        throw new ExemptionError('period-too-long', 'invalid', `The rule now allows at most ${max} days.`);

      const now = new Date();
      let start = now;
      if (request.renewalOf) {
        // The renewed exemption ends now and the renewal continues it without a gap.
        const previous = await this.transition(tx, request.renewalOf, 'expire', {
          decision_reason: `Renouvelée par la demande ${request.id}`,
        });
        if (previous?.validUntil && previous.validUntil > now) start = previous.validUntil;
      }
      const approved = await this.transition(tx, id, 'approve', {
        decided_by: principal.agentId,
        decided_at: now,
        decision_reason: dto.reason ?? null,
        approved_days: days,
        valid_from: now,
        valid_until: addDays(start, days),
      });
      if (!approved) throw await this.conflict(tx, id, 'approve');
      await this.audit.record(tx, actorOf(principal), {
        action: 'exemption.approved',
        entityType: 'exemption',
        entityId: id,
        ministry: request.ministryCode,
        before: { status: 'pending' },
        after: { status: 'approved', days, validUntil: approved.validUntil?.toISOString(), reason: dto.reason ?? null },
      });
      await this.groups.regroup(tx, { agentId: request.agentId }, `exemption ${id} approved`);
      await this.notifyAgent(
        tx,
        approved,
        `Dérogation accordée : ${await this.appName(tx, approved.appSlug)}`,
        `Votre demande de dérogation a été accordée pour ${days} jours, jusqu'au ${frDate(approved.validUntil)}.${dto.reason ? ` Motif : ${dto.reason}` : ''}`,
      );
      return this.view(tx, id);
    });
  }

  async deny(principal: Principal, id: string, reason: string): Promise<ExemptionView> {
    const request = await this.checkDecider(principal, id, 'deny');
    return this.db.transaction(async (tx) => {
      const denied = await this.transition(tx, id, 'deny', {
        decided_by: principal.agentId,
        decided_at: new Date(),
        decision_reason: reason,
      });
      if (!denied) throw await this.conflict(tx, id, 'deny');
      await this.audit.record(tx, actorOf(principal), {
        action: 'exemption.denied',
        entityType: 'exemption',
        entityId: id,
        ministry: request.ministryCode,
        before: { status: 'pending' },
        after: { status: 'denied', reason },
      });
      await this.notifyAgent(
        tx,
        denied,
        `Dérogation refusée : ${await this.appName(tx, denied.appSlug)}`,
        `Votre demande de dérogation a été refusée. Motif : ${reason}`,
      );
      return this.view(tx, id);
    });
  }

  async revoke(principal: Principal, id: string, reason: string): Promise<ExemptionView> {
    const held = await this.checkDecider(principal, id, 'revoke');
    return this.db.transaction(async (tx) => {
      const revoked = await this.transition(tx, id, 'revoke', {
        decided_by: principal.agentId,
        decided_at: new Date(),
        decision_reason: reason,
      });
      if (!revoked) throw await this.conflict(tx, id, 'revoke');
      await this.audit.record(tx, actorOf(principal), {
        action: 'exemption.revoked',
        entityType: 'exemption',
        entityId: id,
        ministry: held.ministryCode,
        before: { status: 'approved' },
        after: { status: 'revoked', reason },
      });
      await this.groups.regroup(tx, { agentId: held.agentId }, `exemption ${id} revoked`);
      await this.notifyAgent(
        tx,
        revoked,
        `Dérogation révoquée : ${await this.appName(tx, revoked.appSlug)}`,
        `Votre dérogation a été révoquée ; l'application est de nouveau bloquée. Motif : ${reason}`,
      );
      return this.view(tx, id);
    });
  }

  async cancel(principal: Principal, id: string): Promise<ExemptionView> {
    const request = await this.find(this.db.manager, id);
    if (request.agentId !== principal.agentId)
      throw new ExemptionError('not-yours', 'forbidden', 'Only the agent who made a request can cancel it.');
    return this.db.transaction(async (tx) => {
      const cancelled = await this.transition(tx, id, 'cancel', {});
      if (!cancelled) throw await this.conflict(tx, id, 'cancel');
      await this.audit.record(tx, actorOf(principal), {
        action: 'exemption.cancelled',
        entityType: 'exemption',
        entityId: id,
        ministry: request.ministryCode,
        before: { status: 'pending' },
        after: { status: 'cancelled' },
      });
      return this.view(tx, id);
    });
  }

  /** Expiry by the scheduler: same path as a decision, by the system. */
  async expire(tx: EntityManager, actor: Actor, id: string): Promise<boolean> {
    const expired = await this.transition(tx, id, 'expire', { decision_reason: 'Période de dérogation échue' });
    if (!expired) return false;
    await this.audit.record(tx, actor, {
      action: 'exemption.expired',
      entityType: 'exemption',
      entityId: id,
      ministry: expired.ministryCode,
      before: { status: 'approved', validUntil: expired.validUntil?.toISOString() },
      after: { status: 'expired' },
    });
    await this.groups.regroup(tx, { agentId: expired.agentId }, `exemption ${id} expired`);
    await this.notifyAgent(
      tx,
      expired,
      `Dérogation expirée : ${await this.appName(tx, expired.appSlug)}`,
      `Votre dérogation a expiré le ${frDate(expired.validUntil)} ; l'application est de nouveau bloquée. Vous pouvez faire une nouvelle demande.`,
    );
    return true;
  }

  /** Who holds which exemption, why, approved by whom, until when. */
  async register(principal: Principal, ministry: string): Promise<ExemptionView[]> {
    this.access.requireAccess(principal, 'exemption.read', ministry);
    const rows = (await this.db.query(
      `${EXEMPTION_VIEW_SQL} WHERE e.ministry_code = $1 AND ${fleetSql.exemptionActive('e')} ORDER BY e.valid_until ASC, e.id`,
      [ministry],
    )) as ExemptionViewRow[];
    return rows.map(toView);
  }

  async registerCsv(principal: Principal, ministry: string): Promise<string> {
    const rows = await this.register(principal, ministry);
    return stringifyCsv(
      rows.map((e) => [
        e.agent.displayName,
        e.agent.email,
        e.app.name,
        e.app.slug,
        e.device?.displayName ?? 'tous ses appareils',
        e.justification,
        e.decidedBy?.displayName ?? '',
        csvParisDateTime(e.decidedAt),
        csvParisDateTime(e.validUntil),
        e.id,
      ]),
      {
        ...FRENCH_EXCEL_CSV,
        header: true,
        columns: [
          'agent',
          'email',
          'application',
          'slug',
          'appareil',
          'justification',
          'accordée par',
          'accordée le (heure de Paris)',
          "valable jusqu'au (heure de Paris)",
          'identifiant',
        ],
      },
    );
  }

  private async checkDecider(principal: Principal, id: string, action: ExemptionAction): Promise<Exemption> {
    const row = await this.find(this.db.manager, id);
    this.access.requireAccess(principal, 'exemption.decide', row.ministryCode);
    if (row.agentId === principal.agentId) {
      throw new ExemptionError(
        'self-decision',
        'forbidden',
        'You cannot decide on your own request: another approver of your ministry must.',
      );
    }
    if (row.status !== TRANSITIONS[action].from) throw await this.conflict(this.db.manager, id, action);
    return row;
  }

  /** A conditional update: of two concurrent decisions exactly one finds the expected state. */
  private async transition(
    tx: EntityManager,
    id: string,
    action: ExemptionAction,
    set: Record<string, unknown>,
  ): Promise<Exemption | null> {
    const { from, to } = TRANSITIONS[action];
    const columns = Object.keys(set);
    const assignments = columns.map((c, i) => `${c} = $${i + 4}`);
    const rows = await queryRecords<{ id: string }>(
      tx,
      `UPDATE exemption SET ${['status = $2', ...assignments].join(', ')} WHERE id = $1 AND status = $3 RETURNING id`,
      [id, to, from, ...columns.map((c) => set[c])],
    );
    if (rows.length === 0) return null;
    return tx.getRepository(Exemption).findOneByOrFail({ id });
  }

  private async conflict(tx: EntityManager, id: string, action: ExemptionAction): Promise<ExemptionError> {
    const current = await this.find(tx, id);
    const verb = { approve: 'approved', deny: 'denied', cancel: 'cancelled', revoke: 'revoked', expire: 'expired' }[
      action
    ];
    return new ExemptionError(
      'invalid-transition',
      'conflict',
      `This request is ${STATUS_FR[current.status]} (${current.status}); it cannot be ${verb}.`,
      { status: current.status },
    );
  }

  private async find(tx: EntityManager, id: string): Promise<Exemption> {
    const row = isUuid(id) ? await tx.getRepository(Exemption).findOneBy({ id }) : null;
    if (!row) throw new ExemptionError('not-found', 'not-found', `No exemption request with id "${id}".`);
    return row;
  }

  private async view(tx: EntityManager, id: string): Promise<ExemptionView> {
    const [row] = (
      isUuid(id) ? await tx.query(`${EXEMPTION_VIEW_SQL} WHERE e.id = $1`, [id]) : []
    ) as ExemptionViewRow[];
    if (!row) throw new ExemptionError('not-found', 'not-found', `No exemption request with id "${id}".`);
    return toView(row);
  }

  private async appName(tx: EntityManager, slug: string): Promise<string> {
    return (await tx.getRepository(App).findOneBy({ slug }))?.name ?? slug;
  }

  private async notifyAgent(tx: EntityManager, exemption: Exemption, title: string, body: string): Promise<void> {
    await this.notifications.notify(tx, [exemption.agentId], {
      kind: `exemption.${exemption.status}`,
      title,
      body,
      link: this.notifications.linkTo(`/exemptions/${exemption.id}`),
    });
  }
}

/** The queue's keyset key: requested_at at the database's precision (microseconds). */
const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeQueueCursor(cursor: string): KeysetCursor {
  const c = decodeCursor(cursor, (at) => CURSOR_AT.test(at) && !Number.isNaN(Date.parse(at)));
  if (!c) throw new ExemptionError('invalid-cursor', 'invalid', INVALID_CURSOR);
  return c;
}

export function frDate(date: Date | null): string {
  return date
    ? date.toLocaleDateString('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Paris' })
    : '—';
}
