import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, SelectQueryBuilder } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { Agent } from '../directory/agent.entity';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { actorOf, Principal } from '../auth/principal';
import { Compliance, Device } from './device.entity';
import { DeviceStateService } from './device-state.service';
import { deliveryOf, Delivery, fleetSql, isConverged } from './fleet-sql';
import { DevicesError } from './devices.error';
import { isUuid } from '../common/uuid';
import { decodeCursor, encodeCursor, foldedPattern, INVALID_CURSOR, KeysetCursor } from '../common/keyset-cursor';

export interface DeviceListFilter {
  compliance?: Compliance;
  q?: string;
  limit?: number;
  offset?: number;
  cursor?: string;
}

/**
 * The two queries of one page of a ministry's devices list: how many match, and the page itself
 * (one row more than asked: whether a next page exists, without a second count). Exported so that a
 * test can EXPLAIN exactly what the list runs.
 */
export function deviceListQueries(
  db: DataSource,
  ministry: string,
  filter: DeviceListFilter,
  after: KeysetCursor | null,
): { count: SelectQueryBuilder<Device>; page: SelectQueryBuilder<Device>; limit: number } {
  const matching = () => {
    const query = db.getRepository(Device).createQueryBuilder('d').where('d.ministry_code = :ministry', { ministry });
    if (filter.compliance) query.andWhere('d.compliance = :compliance', { compliance: filter.compliance });
    const q = filter.q?.trim();
    if (q) query.andWhere(`d.id IN ${fleetSql.searchedDeviceIds(':ministry', ':q')}`, { q: foldedPattern(q) });
    return query;
  };
  const limit = filter.limit ?? 50;
  const page = matching();
  if (after) page.andWhere('(d.display_name, d.id) > (:key, CAST(:id AS uuid))', { key: after.key, id: after.id });
  page
    .orderBy('d.display_name', 'ASC')
    .addOrderBy('d.id', 'ASC')
    .limit(limit + 1)
    .offset(filter.offset ?? 0);
  return { count: matching(), page, limit };
}

export type DeviceView = Device & {
  desiredHash: string | null;
  converged: boolean;
  delivery: Delivery;
  /** iPhones: when the device identity it signs with lapses (renewed in place before then); null otherwise. */
  identityExpiresAt: Date | null;
};

/** The newest commands a device page lists: a person reads the last few, not years of history. */
export const DEVICE_COMMANDS_MAX = 50;

export type AppleCommandStatus = 'queued' | 'sent' | 'acknowledged' | 'error' | 'not-now' | 'cancelled';

export interface DeviceCommand {
  requestType: string;
  status: AppleCommandStatus;
  queuedAt: Date;
  answeredAt: Date | null;
  error: string | null;
}

export interface DeviceCommands {
  supervised: boolean | null;
  items: DeviceCommand[];
}

/** Enrolled phones: the agent's own, or a ministry's for its IT and digital directorate. */
@Injectable()
export class DevicesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly groups: PolicyGroupService,
    private readonly state: DeviceStateService,
  ) {}

  async mine(principal: Principal): Promise<DeviceView[]> {
    return this.withDesired(
      await this.db
        .getRepository(Device)
        .find({ where: { agentId: principal.agentId }, order: { displayName: 'ASC' } }),
    );
  }

  /**
   * A ministry's phones by name, one page at a time: keyset on (display_name, id) after `cursor`,
   * `q` matching name, model, agent, serial, UDID or Android name, case-insensitively.
   */
  async list(
    principal: Principal,
    ministry: string,
    filter: DeviceListFilter,
  ): Promise<{ total: number; items: DeviceView[]; nextCursor: string | null }> {
    this.access.requireAccess(principal, 'device.read', ministry);
    const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
    if (filter.cursor !== undefined && !after) throw new DevicesError('invalid-cursor', 'invalid', INVALID_CURSOR);
    if (after && filter.offset)
      throw new DevicesError('invalid-cursor', 'invalid', 'Use either cursor or offset to page, not both.');
    const { count, page, limit } = deviceListQueries(this.db, ministry, filter, after);
    const total = await count.getCount();
    const rows = await page.getMany();
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor({ key: last.displayName, id: last.id }) : null;
    return { total, items: await this.withDesired(items), nextCursor };
  }

  async get(principal: Principal, id: string): Promise<DeviceView> {
    const device = isUuid(id) ? await this.db.getRepository(Device).findOneBy({ id }) : null;
    if (!device) throw new DevicesError('not-found', 'not-found', `No device with id "${id}".`);
    if (device.agentId !== principal.agentId) this.access.requireAccess(principal, 'device.read', device.ministryCode);
    return (await this.withDesired([device]))[0];
  }

  /**
   * The Apple commands of a device, latest first (at most 50), and whether the iPhone is supervised:
   * what IT reads to know what the phone still has to do. Same access as the device itself; an
   * Android phone has none (its commands go through Google), so its list is empty.
   */
  async commands(principal: Principal, id: string): Promise<DeviceCommands> {
    await this.get(principal, id);
    const [device] = (await this.db.query(`SELECT supervised FROM device WHERE id = $1`, [id])) as {
      supervised: boolean | null;
    }[];
    // The device's error as Apple gave it: the first of its ErrorChain (the way the check-in reads it).
    const rows = (await this.db.query(
      `SELECT request_type, status, created_at, answered_at,
              CASE WHEN status = 'error' THEN coalesce(
                nullif(concat_ws(', ', result->'ErrorChain'->0->>'LocalizedDescription',
                  'error ' || (result->'ErrorChain'->0->>'ErrorCode')), ''), 'no detail given') END AS error
         FROM apple_command WHERE device_id = $1 ORDER BY seq DESC LIMIT ${DEVICE_COMMANDS_MAX}`,
      [id],
    )) as {
      request_type: string;
      status: AppleCommandStatus;
      created_at: Date;
      answered_at: Date | null;
      error: string | null;
    }[];
    return {
      supervised: device?.supervised ?? null,
      items: rows.map((r) => ({
        requestType: r.request_type,
        status: r.status,
        queuedAt: r.created_at,
        answeredAt: r.answered_at,
        error: r.error,
      })),
    };
  }

  /**
   * Gives a device to another agent (possibly of another ministry): its group, hence its policy,
   * follows in the same transaction, and the push is queued with it.
   */
  async reassign(principal: Principal, id: string, agentId: string): Promise<DeviceView> {
    const device = await this.get(principal, id);
    this.access.requireAccess(principal, 'device.manage', device.ministryCode);
    const agent = isUuid(agentId) ? await this.db.getRepository(Agent).findOneBy({ id: agentId }) : null;
    if (!agent) throw new DevicesError('agent-not-found', 'not-found', `No agent with id "${agentId}".`);
    this.access.requireAccess(principal, 'device.manage', agent.ministryCode);
    if (agent.id === device.agentId)
      throw new DevicesError('same-agent', 'conflict', 'This device already belongs to this agent.');
    await this.db.transaction(async (tx) => {
      await this.state.reassign(tx, id, agent.id, agent.ministryCode);
      await this.audit.record(tx, actorOf(principal), {
        action: 'device.reassigned',
        entityType: 'device',
        entityId: id,
        ministry: agent.ministryCode,
        before: { agentId: device.agentId, ministry: device.ministryCode },
        after: { agentId: agent.id, ministry: agent.ministryCode },
      });
      await this.groups.regroup(tx, { deviceIds: [id] }, `device ${id} reassigned to ${agent.email}`);
    });
    return this.get(principal, id);
  }

  /** The desired policy is held by the device's group; `converged` when the phone applied it. */
  private async withDesired(devices: Device[]): Promise<DeviceView[]> {
    const ids = [...new Set(devices.map((d) => d.groupId).filter((g): g is string => g !== null))];
    const groups = ids.length
      ? ((await this.db.query('SELECT id, desired_hash FROM policy_group WHERE id = ANY($1)', [ids])) as {
          id: string;
          desired_hash: string;
        }[])
      : [];
    const desired = new Map(groups.map((g) => [g.id, g.desired_hash]));
    const iphones = devices.filter((d) => d.platform === 'ios').map((d) => d.id);
    const identities = iphones.length
      ? ((await this.db.query(
          `SELECT d.id, i.not_after FROM device d JOIN apple_identity i ON i.serial = d.apple_identity_serial WHERE d.id = ANY($1)`,
          [iphones],
        )) as { id: string; not_after: Date }[])
      : [];
    const expiry = new Map(identities.map((i) => [i.id, i.not_after]));
    return devices.map((d) => {
      const desiredHash = d.groupId ? (desired.get(d.groupId) ?? null) : null;
      const converged = isConverged(d.appliedHash, desiredHash);
      const identityExpiresAt = expiry.get(d.id) ?? null;
      return { ...d, desiredHash, converged, delivery: deliveryOf(d.pushState, converged), identityExpiresAt };
    });
  }
}
