import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { queryRecords } from '../database/query-records';
import { DeviceStateService } from '../devices/device-state.service';
import { fleetSql } from '../devices/fleet-sql';
import { JobQueueService, QUEUES } from '../jobs/job-queue.service';
import { ActiveExemption, EffectivePolicy } from '../policies/effective-policy.resolver';
import { EffectivePolicyService } from '../policies/effective-policy.service';
import { NATIONAL_SCOPE } from '../policies/policy.types';
import { groupId } from './group-key';
import { PolicyGroup } from './policy-group.entity';

const PUSH_BATCH = 500;

/** The exempted apps of each device: agent-wide exemptions plus those for that device. */
const DEVICE_SETS_SQL = `
  SELECT d.id, d.ministry_code, d.group_id,
         coalesce((SELECT array_agg(DISTINCT e.app_slug ORDER BY e.app_slug) FROM exemption e
                    WHERE ${fleetSql.activeExemption('e', 'd.agent_id', 'd.id')}), '{}') AS apps
    FROM device d`;

interface DeviceSet {
  id: string;
  ministry_code: string;
  group_id: string | null;
  apps: string[];
}

/** A group is defined by its exempted apps, not by whose exemptions they are. */
function asExemptions(apps: string[]): ActiveExemption[] {
  return apps.map((app) => ({ id: `group:${app}`, app, validUntil: '9999-12-31T00:00:00.000Z' }));
}

export interface PushDevicesJob {
  deviceIds: string[];
  reason: string;
}

/**
 * Keeps every device in the group its effective policy is made of, and each group's desired
 * policy current. A baseline change rewrites groups (a few thousand rows), never the devices.
 */
@Injectable()
export class PolicyGroupService {
  constructor(
    private readonly effective: EffectivePolicyService,
    private readonly jobs: JobQueueService,
    private readonly devices: DeviceStateService,
  ) {}

  async compute(tx: EntityManager, ministry: string, apps: string[]): Promise<EffectivePolicy> {
    return this.effective.resolve(tx, ministry, asExemptions(apps));
  }

  async ensureGroup(tx: EntityManager, ministry: string, apps: string[]): Promise<PolicyGroup> {
    const id = groupId(ministry, apps);
    const existing = await tx.getRepository(PolicyGroup).findOneBy({ id });
    if (existing) return existing;
    const effective = await this.compute(tx, ministry, apps);
    await tx.query(
      `INSERT INTO policy_group (id, ministry_code, exempted_apps, desired_hash, effective) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
      [id, ministry, [...apps].sort(), effective.hash, effective],
    );
    return tx.getRepository(PolicyGroup).findOneByOrFail({ id });
  }

  /**
   * Puts the given devices in the group of their current exemptions, in the caller's transaction,
   * and queues the push of those whose group changed. Returns the devices to push.
   */
  async regroup(
    tx: EntityManager,
    filter: { agentId: string } | { deviceIds: string[] },
    reason: string,
  ): Promise<string[]> {
    const [where, param] =
      'agentId' in filter ? ['d.agent_id = $1', filter.agentId] : ['d.id = ANY($1)', filter.deviceIds];
    const sets = await queryRecords<DeviceSet>(tx, `${DEVICE_SETS_SQL} WHERE ${where} FOR UPDATE OF d`, [param]);
    const moves: { id: string; groupId: string }[] = [];
    for (const device of sets) {
      const group = await this.ensureGroup(tx, device.ministry_code, device.apps);
      if (group.id !== device.group_id) moves.push({ id: device.id, groupId: group.id });
    }
    // A new desired policy: compliance is judged again at once (an approved exemption lifts a reason).
    await this.devices.moveToGroups(tx, moves);
    const moved = moves.map((m) => m.id);
    if (moved.length > 0)
      await this.jobs.enqueue(tx, QUEUES.rolloutPush, { deviceIds: moved, reason } satisfies PushDevicesJob);
    return moved;
  }

  /** Devices without a group (just enrolled, or created before groups existed), set-based for large fleets. */
  async assignUngrouped(tx: EntityManager): Promise<number> {
    await tx.query(`CREATE TEMP TABLE ungrouped ON COMMIT DROP AS ${DEVICE_SETS_SQL} WHERE d.group_id IS NULL`);
    const combos = await queryRecords<{ ministry_code: string; apps: string[] }>(
      tx,
      `SELECT DISTINCT ministry_code, apps FROM ungrouped`,
    );
    for (const combo of combos) await this.ensureGroup(tx, combo.ministry_code, combo.apps);
    const updated = await this.devices.assignUngrouped(tx);
    // Their first push (attach to the group policy, or the device's own profile), in batches.
    for (let i = 0; i < updated.length; i += PUSH_BATCH) {
      const deviceIds = updated.slice(i, i + PUSH_BATCH);
      await this.jobs.enqueue(tx, QUEUES.rolloutPush, { deviceIds, reason: 'first policy' } satisfies PushDevicesJob);
    }
    return updated.length;
  }

  /** Recomputes the groups of a scope after a policy change; returns those whose desired policy changed. */
  async recomputeScope(tx: EntityManager, scope: string): Promise<{ group: PolicyGroup; fromHash: string }[]> {
    const groups = await tx.getRepository(PolicyGroup).find({
      where: scope === NATIONAL_SCOPE ? {} : { ministryCode: scope },
      order: { id: 'ASC' },
      // NO KEY UPDATE, not UPDATE: a device moving into one of these groups (an exemption decided
      // meanwhile, which holds the audit lock) only needs KEY SHARE for its foreign key; FOR UPDATE
      // made it wait for this transaction while this one waited for the audit lock: a deadlock.
      lock: { mode: 'for_no_key_update' },
    });
    const changed: { group: PolicyGroup; fromHash: string }[] = [];
    const resolve = await this.effective.batchResolver(tx);
    for (const group of groups) {
      const effective = resolve(group.ministryCode, asExemptions(group.exemptedApps));
      if (effective.hash === group.desiredHash) continue;
      const fromHash = group.desiredHash;
      await tx.query(
        `UPDATE policy_group SET desired_hash = $2, effective = $3, generation = generation + 1, updated_at = now() WHERE id = $1`,
        [group.id, effective.hash, effective],
      );
      changed.push({
        group: { ...group, desiredHash: effective.hash, effective, generation: group.generation + 1 },
        fromHash,
      });
    }
    return changed;
  }
}
