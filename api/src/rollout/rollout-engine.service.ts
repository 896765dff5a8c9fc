import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { queryRecords } from '../database/query-records';
import { Device } from '../devices/device.entity';
import { DeviceReport, DeviceStateService } from '../devices/device-state.service';
import { fleetSql } from '../devices/fleet-sql';
import { JobQueueService, QUEUES } from '../jobs/job-queue.service';
import { DeviceReporter, GroupTarget, PlatformAdapter, policyName, PolicyVariant, PushError } from './platform-adapter';
import { PlatformRegistry } from './platform-registry';
import { scopeMinistry } from '../policies/policy.types';
import { PolicyGroup } from './policy-group.entity';
import { PolicyGroupService, PushDevicesJob } from './policy-group.service';
import { Rollout, RolloutGroup } from './rollout.entity';

/** Auto-pause a staged rollout when more than this share of the released phones that reported failed. */
export const STAGE_FAILURE_GATE = 0.05;
/** At most this many devices picked by one retry tick (a platform with a quota may allow fewer). */
export const RETRY_PICK = 1000;
/** The retry tick runs every minute: it picks what a platform's quota lets through in that time. */
const RETRY_TICK_SECONDS = 60;
/**
 * How long after its last stage a rollout waits for phones that stay silent. Past it, a rollout whose
 * only unapplied phones have not been heard from in that time is complete: their policy is with the
 * platform already (Android's policy, the iPhone's queued command) and they apply it when they come
 * back, which their device page and the fleet's "waiting" list show. Without it a ministry with one
 * phone in a drawer would never see a rollout end.
 */
export const OFFLINE_SETTLE_MS = 60 * 60_000;
const PAGE = 500;
const ENGINE: Actor = { id: null, label: 'system: rollout engine' };

export interface PushGroupJob {
  rolloutId: string;
  groupId: string;
  stageIndex: number;
}

/** `retry`: picked by the retry loop, re-pushed only where the platform does not have the target yet. */
export type PushJob = PushGroupJob | (PushDevicesJob & { force?: boolean; retry?: boolean });

/** A platform with a call quota says how many pushes it can take in the next `seconds`. */
interface RetryBudget {
  retryBudget(seconds: number): Promise<number>;
}

function hasRetryBudget(adapter: PlatformAdapter): adapter is PlatformAdapter & RetryBudget {
  return typeof (adapter as Partial<RetryBudget>).retryBudget === 'function';
}

/**
 * The shared policy a device of `group` should be attached to now: the stable one once it carries
 * the desired content, else the canary (a staged rollout in progress), else none published yet.
 */
export function sharedTarget(group: {
  id: string;
  desiredHash: string;
  sharedPublishedHash: string | null;
  sharedCanaryHash: string | null;
}): string | null {
  if (group.sharedPublishedHash === group.desiredHash) return policyName(group.id, 'stable');
  if (group.sharedCanaryHash === group.desiredHash) return policyName(group.id, 'canary');
  return null;
}

/** Job `compliance.recompute`: groups whose desired policy changed. */
export interface ComplianceRecomputeJob {
  groupIds: string[];
}

export function stageRange(stages: number[], index: number): { from: number; to: number; final: boolean } {
  return { from: index === 0 ? 0 : stages[index - 1] * 100, to: stages[index] * 100, final: stages[index] === 100 };
}

/**
 * Turns desired state into pushes. Every step is a job (pg-boss) and idempotent: a device or a
 * group already carrying the target is skipped, so a job run twice pushes nothing twice.
 */
@Injectable()
export class RolloutEngine implements DeviceReporter, OnModuleInit {
  private readonly logger = new Logger('Rollout');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly jobs: JobQueueService,
    private readonly groups: PolicyGroupService,
    private readonly audit: AuditService,
    private readonly platforms: PlatformRegistry,
    private readonly devices: DeviceStateService,
  ) {}

  onModuleInit(): void {
    this.platforms.attach(this);
  }

  /** Job `rollout.start`: recompute the scope's groups, record what changes, release stage one. */
  async prepare(rolloutId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rollout = await tx
        .getRepository(Rollout)
        .findOne({ where: { id: rolloutId }, lock: { mode: 'pessimistic_write' } });
      if (!rollout || rollout.status !== 'preparing') return;
      const changed = await this.groups.recomputeScope(tx, rollout.scope);
      if (changed.length > 0) {
        await tx.getRepository(RolloutGroup).insert(
          changed.map(({ group, fromHash }) => ({
            rolloutId,
            groupId: group.id,
            fromHash,
            toHash: group.desiredHash,
          })),
        );
      }
      // Enrolled devices of the changed groups, from the fleet's counters (no scan of the device table).
      const [{ devices }] = await queryRecords<{ devices: number }>(
        tx,
        `SELECT coalesce(sum(n), 0)::int AS devices FROM ${fleetSql.rolloutCounts('group_id = ANY($1)')} c`,
        [changed.map((c) => c.group.id)],
      );
      // Their phones are judged against the new desired policy now, not at their next report.
      if (changed.length > 0)
        await this.jobs.enqueue(tx, QUEUES.complianceRecompute, {
          groupIds: changed.map((c) => c.group.id),
        } satisfies ComplianceRecomputeJob);
      if (changed.length === 0) {
        await tx.getRepository(Rollout).update({ id: rolloutId }, { status: 'completed', finishedAt: new Date() });
      } else {
        await tx
          .getRepository(Rollout)
          .update({ id: rolloutId }, { status: 'running', stageIndex: 0, stageStartedAt: new Date() });
        await this.releaseStage(
          tx,
          rolloutId,
          changed.map((c) => c.group.id),
          0,
        );
      }
      await this.audit.record(tx, ENGINE, {
        action: changed.length === 0 ? 'rollout.nothing-to-push' : 'rollout.started',
        entityType: 'rollout',
        entityId: rolloutId,
        ministry: scopeMinistry(rollout.scope),
        after: { scope: rollout.scope, stages: rollout.stages, groups: changed.length, devices },
      });
    });
  }

  async releaseStage(tx: EntityManager, rolloutId: string, groupIds: string[], stageIndex: number): Promise<void> {
    for (const groupId of groupIds) {
      await this.jobs.enqueue(tx, QUEUES.rolloutPush, { rolloutId, groupId, stageIndex } satisfies PushGroupJob);
    }
  }

  /** Job `rollout.push`: one group's stage of a rollout, or devices moved to another group. */
  async handlePush(job: PushJob): Promise<void> {
    if ('groupId' in job) await this.pushGroupStage(job);
    else await this.pushDevices(job.deviceIds, job.force ?? false, job.retry ?? false);
  }

  private async pushGroupStage(job: PushGroupJob): Promise<void> {
    const rollout = await this.db.getRepository(Rollout).findOneBy({ id: job.rolloutId });
    // Paused or aborted: nothing more goes out. A resume releases the current stage again.
    if (!rollout || (rollout.status !== 'running' && rollout.status !== 'completed')) return;
    if (job.stageIndex > rollout.stageIndex) return;
    const group = await this.db.getRepository(PolicyGroup).findOneBy({ id: job.groupId });
    if (!group) return;
    const { from, to, final } = stageRange(rollout.stages, job.stageIndex);
    const variant: PolicyVariant = final ? 'stable' : 'canary';
    for (const adapter of this.platforms.all()) {
      if (adapter.sharedPolicies) {
        if (!(await this.publish(adapter, group, variant))) continue;
        // Final stage: every device of the group ends on the stable policy (canaries come back).
        await this.pushRange(adapter, group, final ? 0 : from, to, policyName(group.id, variant), false);
      } else {
        await this.pushRange(adapter, group, from, to, null, false);
      }
    }
  }

  /** Makes sure a group's stable policy exists on shared-policy platforms (before enrolling into it). */
  async ensurePublished(groupId: string): Promise<void> {
    const group = await this.db.getRepository(PolicyGroup).findOneByOrFail({ id: groupId });
    for (const adapter of this.platforms.all()) {
      if (adapter.sharedPolicies && group.sharedPublishedHash === null) await this.publish(adapter, group, 'stable');
    }
  }

  /** Publishes a group's policy once per content; false when the platform refused for good. */
  private async publish(adapter: PlatformAdapter, group: PolicyGroup, variant: PolicyVariant): Promise<boolean> {
    const published = variant === 'stable' ? group.sharedPublishedHash : group.sharedCanaryHash;
    if (published === group.desiredHash) return true;
    const target: GroupTarget = {
      groupId: group.id,
      ministry: group.ministryCode,
      policyName: policyName(group.id, variant),
      variant,
      hash: group.desiredHash,
      effective: group.effective,
    };
    try {
      await adapter.publishGroup(target);
    } catch (e) {
      if (e instanceof PushError && !e.retryable) {
        await this.devices.markGroupFailed(group.id, adapter.platform, e.message);
        return false;
      }
      throw e; // retried by the queue with backoff
    }
    const column = variant === 'stable' ? 'shared_published_hash' : 'shared_canary_hash';
    await this.db.query(`UPDATE policy_group SET ${column} = $2 WHERE id = $1`, [group.id, group.desiredHash]);
    return true;
  }

  /** Devices of a group in a bucket range; skips those already carrying the target. */
  private async pushRange(
    adapter: PlatformAdapter,
    group: PolicyGroup,
    from: number,
    to: number,
    sharedPolicy: string | null,
    force: boolean,
  ): Promise<void> {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const q = this.db
        .getRepository(Device)
        .createQueryBuilder('d')
        .where(
          `d.group_id = :group AND d.platform = :platform AND d.bucket >= :from AND d.bucket < :to AND d.id > :after AND ${fleetSql.reachable('d')}`,
          {
            group: group.id,
            platform: adapter.platform,
            from,
            to,
            after,
          },
        )
        .orderBy('d.id', 'ASC')
        .take(PAGE);
      if (!force) {
        if (sharedPolicy) q.andWhere('d.bound_policy IS DISTINCT FROM :target', { target: sharedPolicy });
        else q.andWhere('d.pushed_hash IS DISTINCT FROM :target', { target: group.desiredHash });
      }
      const devices = await q.getMany();
      for (const device of devices) await this.pushOne(adapter, device, group, sharedPolicy);
      if (devices.length < PAGE) break;
      after = devices[devices.length - 1].id;
    }
  }

  private async pushDevices(deviceIds: string[], force: boolean, retry = false): Promise<void> {
    const devices = await this.db
      .getRepository(Device)
      .createQueryBuilder('d')
      .where(`d.id = ANY(:ids) AND ${fleetSql.reachable('d')}`, { ids: deviceIds })
      .getMany();
    for (const device of devices) {
      if (!device.groupId) continue;
      const group = await this.db.getRepository(PolicyGroup).findOneByOrFail({ id: device.groupId });
      const adapter = this.platforms.get(device.platform);
      if (adapter.sharedPolicies) {
        // A group never published is published now; one in a staged rollout keeps its stable policy.
        if (group.sharedPublishedHash === null && !(await this.publish(adapter, group, 'stable'))) continue;
        // A retry attaches to the policy carrying the desired content (the canary during a staged
        // rollout); never to the one the phone already has: that would change nothing at Google.
        const target = retry ? sharedTarget(group) : group.id;
        if (target === null || (!force && device.boundPolicy === target)) continue;
        await this.pushOne(adapter, device, group, target);
      } else {
        if (!force && device.pushedHash === group.desiredHash) continue;
        await this.pushOne(adapter, device, group, null);
      }
    }
  }

  private async pushOne(
    adapter: PlatformAdapter,
    device: Device,
    group: PolicyGroup,
    sharedPolicy: string | null,
  ): Promise<void> {
    try {
      await adapter.pushDevice({
        deviceId: device.id,
        ministry: device.ministryCode,
        ownership: device.ownership,
        groupId: group.id,
        policyName: sharedPolicy ?? group.id,
        hash: group.desiredHash,
        effective: group.effective,
      });
      await this.devices.recordPushed(
        device.id,
        sharedPolicy ? { boundPolicy: sharedPolicy } : { pushedHash: group.desiredHash },
      );
    } catch (e) {
      const retryable = !(e instanceof PushError) || e.retryable;
      const message = e instanceof Error ? e.message : String(e);
      this.logger.warn(`push to device ${device.id} failed (${retryable ? 'will retry' : 'final'}): ${message}`);
      await this.devices.recordPushFailure(device.id, retryable, message, group.desiredHash);
    }
  }

  /**
   * The device applied `appliedHash`. `detail` lists what it reports not applying (`setting: REASON`,
   * separated by "; "); `errors`, when given, the real errors among them. Without `errors`, every
   * part of `detail` but PENDING ones (still being applied) is one: a phone is failed only on a real
   * error, never for being late.
   */
  async reportApplied(deviceId: string, appliedHash: string, detail?: string, errors?: string[]): Promise<void> {
    await this.devices.recordApplied(
      deviceId,
      appliedHash,
      detail ?? `the device reports policy ${appliedHash.slice(0, 12)}, not the expected one`,
      errors ?? realErrors(detail),
    );
  }

  async reportPolicyApplied(name: string, appliedHash: string): Promise<number> {
    return this.devices.recordPolicyApplied(name, appliedHash);
  }

  async reportInventory(deviceId: string, report: DeviceReport): Promise<void> {
    await this.devices.recordReport(deviceId, report);
  }

  /**
   * Every minute: push again the devices whose push did not go through, with exponential backoff
   * (1 min, 2, 4 … 1 h, from the failures counted). A device the platform already has on its
   * target (an Android phone attached to its group's policy, an iPhone sent its profile) is not
   * pushed again: it is waiting for the phone, switched off maybe, and that is not a failure. Picks
   * at most what the platform's quota allows in the next minute.
   */
  async retryDiverged(): Promise<{ retried: number }> {
    let retried = 0;
    for (const adapter of this.platforms.all()) {
      const limit = hasRetryBudget(adapter)
        ? Math.min(RETRY_PICK, await adapter.retryBudget(RETRY_TICK_SECONDS))
        : RETRY_PICK;
      if (limit <= 0) continue;
      // Shared policies: the device is not attached to the policy carrying the desired content —
      // the stable one; during a staged rollout the canary, for a released device whose push failed
      // (the rollout's job reaches the others). A group not yet published waits for its rollout job
      // (kept by the queue through crashes and outages), as does one whose job is still queued.
      const needsPush = adapter.sharedPolicies
        ? `(g.shared_published_hash = g.desired_hash AND d.bound_policy IS DISTINCT FROM g.id)
           OR (g.shared_published_hash IS DISTINCT FROM g.desired_hash AND g.shared_canary_hash = g.desired_hash
               AND d.push_state = 'retrying' AND d.bound_policy IS DISTINCT FROM g.id || '.canary'
               AND EXISTS (SELECT 1 FROM rollout_group rg JOIN rollout r ON r.id = rg.rollout_id
                            WHERE rg.group_id = g.id AND rg.to_hash = g.desired_hash AND r.status = 'running'
                              AND d.bucket < r.stages[r.stage_index + 1] * 100))`
        : `d.pushed_hash IS DISTINCT FROM g.desired_hash AND ${fleetSql.notConverged('d', 'g.desired_hash')}`;
      const due = (await this.db.query(
        `SELECT d.id FROM device d JOIN policy_group g ON g.id = d.group_id
          WHERE d.platform = $1 AND d.push_state <> 'failed' AND ${fleetSql.reachable('d')} AND (${needsPush})
            AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $2 AND j.state IN ('created', 'retry', 'active') AND j.data->>'groupId' = g.id)
            AND greatest(d.last_push_at, g.updated_at) < now() - make_interval(secs => least(3600, 60 * power(2, d.push_attempts)))
            AND NOT EXISTS (SELECT 1 FROM rollout_group rg JOIN rollout r ON r.id = rg.rollout_id
                             WHERE rg.group_id = g.id AND r.status IN ('preparing', 'running', 'paused')
                               AND d.bucket >= r.stages[r.stage_index + 1] * 100)
          ORDER BY d.last_push_at NULLS FIRST LIMIT $3`,
        [adapter.platform, QUEUES.rolloutPush, limit],
      )) as { id: string }[];
      if (due.length === 0) continue;
      await this.db.transaction(async (tx) => {
        await this.devices.markRetrying(
          tx,
          due.map((d) => d.id),
        );
        await this.jobs.enqueue(tx, QUEUES.rolloutPush, {
          deviceIds: due.map((d) => d.id),
          reason: 'retry: the last push did not go through',
          retry: true,
        });
      });
      retried += due.length;
    }
    return { retried };
  }

  /**
   * The stage gate: of the released phones that reported (converged, or failed with a real error
   * for this rollout's content), the share that failed. Phones that have not reported (switched off)
   * and failures for other content or causes are not counted.
   */
  async stageHealth(rolloutId: string, to: number): Promise<{ reported: number; failed: number; waiting: number }> {
    const [row] = (await this.db.query(
      `SELECT count(*) FILTER (WHERE ${fleetSql.converged('d', 'rg.to_hash')} AND d.push_state <> 'failed')::int AS converged,
              count(*) FILTER (WHERE d.push_state = 'failed' AND d.push_failed_for = rg.to_hash)::int AS failed,
              count(*) FILTER (WHERE ${fleetSql.waiting('d', 'rg.to_hash')})::int AS waiting
         FROM rollout_group rg JOIN device d ON d.group_id = rg.group_id AND d.bucket < $2 AND ${fleetSql.reachable('d')}
        WHERE rg.rollout_id = $1`,
      [rolloutId, to],
    )) as { converged: number; failed: number; waiting: number }[];
    return { reported: row.converged + row.failed, failed: row.failed, waiting: row.waiting };
  }

  /** Every minute: advance staged rollouts whose wait is over (unless too many failures), close finished ones. */
  async advanceStages(now = new Date()): Promise<void> {
    const running = await this.db.getRepository(Rollout).find({ where: { status: 'running' } });
    for (const rollout of running) {
      const last = rollout.stageIndex === rollout.stages.length - 1;
      if (last) {
        const [{ pending }] = (await this.db.query(
          `SELECT coalesce(sum(c.n) FILTER (WHERE c.applied_hash <> rg.to_hash AND NOT c.push_failed), 0)::int AS pending
             FROM ${fleetSql.rolloutCounts(`group_id IN (SELECT group_id FROM rollout_group WHERE rollout_id = $1)`)} c
             JOIN rollout_group rg ON rg.group_id = c.group_id AND rg.rollout_id = $1`,
          [rollout.id],
        )) as { pending: number }[];
        if (pending === 0) await this.finish(rollout.id);
        else if (await this.onlySilentPhonesLeft(rollout, now)) await this.finish(rollout.id, pending);
        continue;
      }
      const due = (rollout.stageStartedAt?.getTime() ?? 0) + rollout.stageWaitSeconds * 1000 <= now.getTime();
      if (!due) continue;
      const { to } = stageRange(rollout.stages, rollout.stageIndex);
      const { reported, failed, waiting } = await this.stageHealth(rollout.id, to);
      if (reported > 0 && failed / reported > STAGE_FAILURE_GATE) {
        await this.control(
          rollout.id,
          ENGINE,
          'pause',
          `${failed} of the ${reported} released phones that reported failed (more than ${STAGE_FAILURE_GATE * 100} %); ${waiting} not reported yet, not counted`,
        );
      } else {
        await this.control(rollout.id, ENGINE, 'advance');
      }
    }
  }

  /**
   * True once the last stage has been out for OFFLINE_SETTLE_MS, no push of the rollout is queued or
   * being retried, and none of its unapplied phones has been heard from within that time: what is
   * left waits for phones that are switched off, not for the rollout.
   */
  private async onlySilentPhonesLeft(rollout: Rollout, now: Date): Promise<boolean> {
    const releasedAt = rollout.stageStartedAt?.getTime() ?? now.getTime();
    if (now.getTime() - releasedAt < OFFLINE_SETTLE_MS) return false;
    const [{ moving }] = (await this.db.query(
      `SELECT (EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $2 AND j.state IN ('created', 'retry', 'active')
                        AND j.data->>'rolloutId' = $1::uuid::text)
               OR EXISTS (SELECT 1 FROM rollout_group rg JOIN device d ON d.group_id = rg.group_id
                           WHERE rg.rollout_id = $1::uuid AND ${fleetSql.reachable('d')} AND ${fleetSql.notConverged('d', 'rg.to_hash')}
                             AND d.push_state <> 'failed'
                             AND (d.push_state = 'retrying' OR d.last_seen_at >= $3::timestamptz))) AS moving`,
      [rollout.id, QUEUES.rolloutPush, new Date(now.getTime() - OFFLINE_SETTLE_MS)],
    )) as { moving: boolean }[];
    return !moving;
  }

  /** `waiting`: phones silent since the last stage, that apply the policy when they come back (audited). */
  private async finish(rolloutId: string, waiting = 0): Promise<void> {
    await this.db.transaction(async (tx) => {
      const done = await queryRecords<{ scope: string }>(
        tx,
        `UPDATE rollout SET status = 'completed', finished_at = now() WHERE id = $1 AND status = 'running' RETURNING scope`,
        [rolloutId],
      );
      if (done.length === 0) return;
      await this.audit.record(tx, ENGINE, {
        action: 'rollout.completed',
        entityType: 'rollout',
        entityId: rolloutId,
        ministry: scopeMinistry(done[0].scope),
        ...(waiting > 0 ? { after: { waitingForSilentPhones: waiting } } : {}),
      });
    });
  }

  /** pause / resume / abort / advance, by a person or by the engine's failure gate. Returns the new status, or null if refused. */
  async control(
    rolloutId: string,
    actor: Actor,
    action: 'pause' | 'resume' | 'abort' | 'advance',
    reason?: string,
  ): Promise<Rollout | null> {
    return this.db.transaction(async (tx) => {
      const rollout = await tx
        .getRepository(Rollout)
        .findOne({ where: { id: rolloutId }, lock: { mode: 'pessimistic_write' } });
      if (!rollout) return null;
      const allowed: Record<typeof action, string[]> = {
        pause: ['running'],
        resume: ['paused'],
        abort: ['preparing', 'running', 'paused'],
        advance: ['running'],
      };
      if (!allowed[action].includes(rollout.status)) return null;
      if (action === 'advance' && rollout.stageIndex >= rollout.stages.length - 1) return null;
      const update: Partial<Rollout> =
        action === 'pause'
          ? { status: 'paused', pauseReason: reason ?? null }
          : action === 'resume'
            ? { status: 'running', pauseReason: null, stageStartedAt: new Date() }
            : action === 'abort'
              ? { status: 'aborted', finishedAt: new Date(), pauseReason: reason ?? null }
              : { stageIndex: rollout.stageIndex + 1, stageStartedAt: new Date() };
      await tx.getRepository(Rollout).update({ id: rolloutId }, update);
      if (action === 'resume' || action === 'advance') {
        const groupIds = (await tx.getRepository(RolloutGroup).findBy({ rolloutId })).map((g) => g.groupId);
        await this.releaseStage(tx, rolloutId, groupIds, update.stageIndex ?? rollout.stageIndex);
      }
      await this.audit.record(tx, actor, {
        action: {
          pause: 'rollout.paused',
          resume: 'rollout.resumed',
          abort: 'rollout.aborted',
          advance: 'rollout.stage-advanced',
        }[action],
        entityType: 'rollout',
        entityId: rolloutId,
        ministry: scopeMinistry(rollout.scope),
        before: { status: rollout.status, stageIndex: rollout.stageIndex },
        after: {
          status: update.status ?? rollout.status,
          stageIndex: update.stageIndex ?? rollout.stageIndex,
          reason: reason ?? null,
        },
      });
      return tx.getRepository(Rollout).findOneByOrFail({ id: rolloutId });
    });
  }
}

/**
 * The real errors of a `detail` line (`setting: REASON; …`): every part but the reasons that say
 * "not done yet" rather than "could not": PENDING (the phone will apply it), APP_INSTALLED (a banned
 * app is still being removed) and APP_NOT_INSTALLED (a required app is still being installed). The
 * apps themselves are judged from the inventory (compliance), not as a failed push: counted as
 * failures, they paused staged rollouts through the failure gate.
 */
export function realErrors(detail: string | undefined): string[] {
  if (!detail) return [];
  return detail
    .split('; ')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !/:\s*(PENDING|APP_INSTALLED|APP_NOT_INSTALLED)$/.test(part));
}
