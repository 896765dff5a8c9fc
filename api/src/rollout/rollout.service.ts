import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { scopeMinistry } from '../policies/policy.types';
import { Rollout } from './rollout.entity';
import { RolloutEngine } from './rollout-engine.service';
import { RolloutError } from './rollout.error';
import { isUuid } from '../common/uuid';
import { fleetSql } from '../devices/fleet-sql';

import type { MinistryRolloutStatus, RolloutView, StageProgress } from './rollout.view';

export interface FleetStatusRow {
  ministry: string;
  devices: number;
  converged: number;
  failed: number;
  nonCompliant: number;
}

/** Rollout progress and control for ministry IT and national administrators. */
@Injectable()
export class RolloutService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    private readonly engine: RolloutEngine,
  ) {}

  async list(principal: Principal, filter: { scope?: string; active?: boolean }): Promise<RolloutView[]> {
    const visible = this.access.ministriesWith(principal, 'rollout.read');
    if (visible !== null && visible.length === 0)
      this.access.requireAccess(principal, 'rollout.read', principal.ministry);
    const q = this.db.getRepository(Rollout).createQueryBuilder('r').orderBy('r.created_at', 'DESC').take(100);
    if (visible !== null) q.andWhere(`(r.scope = 'national' OR r.scope = ANY(:visible))`, { visible });
    if (filter.scope) q.andWhere('r.scope = :scope', { scope: filter.scope });
    if (filter.active) q.andWhere(`r.status IN ('preparing', 'running', 'paused')`);
    const rollouts = await q.getMany();
    return Promise.all(rollouts.map((r) => this.view(r)));
  }

  async get(principal: Principal, id: string): Promise<RolloutView> {
    const rollout = await this.find(id);
    this.access.requireAccess(principal, 'rollout.read', scopeMinistry(rollout.scope));
    return this.view(rollout);
  }

  async control(
    principal: Principal,
    id: string,
    action: 'pause' | 'resume' | 'abort' | 'advance',
    reason?: string,
  ): Promise<RolloutView> {
    const rollout = await this.find(id);
    this.access.requireAccess(principal, 'rollout.control', scopeMinistry(rollout.scope));
    const updated = await this.engine.control(id, actorOf(principal), action, reason);
    if (!updated) {
      const current = await this.find(id);
      const why =
        action === 'advance' && current.status === 'running'
          ? 'it is already at its last stage'
          : `it is ${current.status}`;
      throw new RolloutError('invalid-transition', 'conflict', `This rollout cannot ${action}: ${why}.`, {
        status: current.status,
      });
    }
    return this.view(updated);
  }

  async ministryStatus(principal: Principal, ministry: string): Promise<MinistryRolloutStatus> {
    this.access.requireAccess(principal, 'rollout.read', ministry);
    // From the fleet's counters (kept by the device table's triggers), not a scan of the ministry's devices.
    const byPlatform = (await this.db.query(
      `SELECT c.platform, sum(c.n)::int AS devices,
              coalesce(sum(c.n) FILTER (WHERE ${fleetSql.converged('c', 'g.desired_hash')} AND NOT c.push_failed), 0)::int AS converged,
              coalesce(sum(c.n) FILTER (WHERE c.push_failed), 0)::int AS failed,
              coalesce(sum(c.n) FILTER (WHERE c.non_compliant), 0)::int AS "nonCompliant"
         FROM ${fleetSql.rolloutCounts('ministry_code = $1')} c LEFT JOIN policy_group g ON g.id = c.group_id
        GROUP BY 1 HAVING sum(c.n) <> 0 ORDER BY 1`,
      [ministry],
    )) as { platform: string; devices: number; converged: number; failed: number; nonCompliant: number }[];
    const totals = byPlatform.reduce(
      (t, p) => ({
        devices: t.devices + p.devices,
        converged: t.converged + p.converged,
        failed: t.failed + p.failed,
        nonCompliant: t.nonCompliant + p.nonCompliant,
      }),
      { devices: 0, converged: 0, failed: 0, nonCompliant: 0 },
    );
    const activeRollouts = (await this.db.query(
      `SELECT id, scope, status, stage_index AS "stageIndex", stages FROM rollout
        WHERE status IN ('preparing', 'running', 'paused') AND (scope = $1 OR scope = 'national') ORDER BY created_at DESC`,
      [ministry],
    )) as MinistryRolloutStatus['activeRollouts'];
    const failures = (await this.db.query(
      `SELECT d.id AS "deviceId", d.display_name AS "displayName", d.platform, a.email AS "agentEmail", d.push_error AS reason,
              d.push_attempts AS attempts, d.last_push_at AS "lastPushAt"
         FROM device d JOIN agent a ON a.id = d.agent_id WHERE d.ministry_code = $1 AND d.push_state = 'failed'
        ORDER BY d.last_push_at DESC NULLS LAST LIMIT 200`,
      [ministry],
    )) as MinistryRolloutStatus['failures'];
    // Waiting devices are read from the device table (the counters know failed, not waiting): one
    // pass over the ministry's devices, for a page IT opens, not a list.
    const waiting = (await this.db.query(
      `SELECT d.id AS "deviceId", d.display_name AS "displayName", d.platform, a.email AS "agentEmail",
              d.last_seen_at AS "lastSeenAt", d.last_push_at AS "lastPushAt"
         FROM device d JOIN policy_group g ON g.id = d.group_id LEFT JOIN agent a ON a.id = d.agent_id
        WHERE d.ministry_code = $1 AND ${fleetSql.reachable('d')} AND ${fleetSql.waiting('d', 'g.desired_hash')}
        ORDER BY d.last_seen_at NULLS FIRST, d.id LIMIT 200`,
      [ministry],
    )) as MinistryRolloutStatus['waiting'];
    return {
      ministry,
      ...totals,
      pending: totals.devices - totals.converged - totals.failed,
      byPlatform: byPlatform.map(({ platform, devices, converged }) => ({ platform, devices, converged })),
      activeRollouts,
      failures,
      waiting,
    };
  }

  /** For operators with database access (the rollout CLI): no principal, no access check. */
  async operatorView(filter: {
    id?: string;
    ministry?: string;
  }): Promise<{ rollouts: RolloutView[]; fleet: FleetStatusRow[] }> {
    const q = this.db.getRepository(Rollout).createQueryBuilder('r').orderBy('r.created_at', 'DESC');
    if (filter.id) q.where('r.id = :id', { id: filter.id });
    else q.where(`r.status IN ('preparing', 'running', 'paused')`);
    if (filter.ministry) q.andWhere(`(r.scope = :m OR r.scope = 'national')`, { m: filter.ministry });
    const rollouts = await Promise.all((await q.take(20).getMany()).map((r) => this.view(r)));
    const fleet = (await this.db.query(
      `SELECT c.ministry_code AS ministry, sum(c.n)::int AS devices,
              coalesce(sum(c.n) FILTER (WHERE ${fleetSql.converged('c', 'g.desired_hash')} AND NOT c.push_failed), 0)::int AS converged,
              coalesce(sum(c.n) FILTER (WHERE c.push_failed), 0)::int AS failed,
              coalesce(sum(c.n) FILTER (WHERE c.non_compliant), 0)::int AS "nonCompliant"
         FROM ${fleetSql.rolloutCounts('($1::text IS NULL OR ministry_code = $1)')} c LEFT JOIN policy_group g ON g.id = c.group_id
        GROUP BY 1 HAVING sum(c.n) <> 0 ORDER BY 1`,
      [filter.ministry ?? null],
    )) as FleetStatusRow[];
    return { rollouts, fleet };
  }

  private async view(r: Rollout): Promise<RolloutView> {
    // Stage boundaries are whole percents: the counters per 1 % band of buckets answer for any stages,
    // without reading the rollout's devices (see the ComplianceReadModel migration).
    const stageCase = `CASE ${r.stages.map((p, i) => `WHEN c.band < ${Number(p)} THEN ${i}`).join(' ')} END`;
    const rows = (await this.db.query(
      `SELECT ${stageCase} AS stage, sum(c.n)::int AS devices,
              coalesce(sum(c.n) FILTER (WHERE ${fleetSql.converged('c', 'rg.to_hash')} AND NOT c.push_failed), 0)::int AS converged,
              coalesce(sum(c.n) FILTER (WHERE c.push_failed), 0)::int AS failed,
              coalesce(sum(c.n) FILTER (WHERE c.non_compliant), 0)::int AS "nonCompliant"
         FROM ${fleetSql.rolloutCounts('group_id IN (SELECT group_id FROM rollout_group WHERE rollout_id = $1)')} c
         JOIN rollout_group rg ON rg.group_id = c.group_id AND rg.rollout_id = $1
        GROUP BY 1`,
      [r.id],
    )) as { stage: number; devices: number; converged: number; failed: number; nonCompliant: number }[];
    const [{ groups }] = (await this.db.query(
      `SELECT count(*)::int AS groups FROM rollout_group WHERE rollout_id = $1`,
      [r.id],
    )) as { groups: number }[];
    const finished = r.status === 'completed';
    const progress: StageProgress[] = r.stages.map((percent, stage) => {
      const row = rows.find((x) => x.stage === stage) ?? { devices: 0, converged: 0, failed: 0, nonCompliant: 0 };
      const released = finished || (r.status !== 'preparing' && stage <= r.stageIndex);
      const open = row.devices - row.converged - row.failed;
      return {
        stage,
        percent,
        released,
        devices: row.devices,
        converged: row.converged,
        failed: row.failed,
        nonCompliant: row.nonCompliant,
        pending: released ? open : 0,
        held: released ? 0 : open,
      };
    });
    const sum = (k: 'devices' | 'converged' | 'pending' | 'failed' | 'held' | 'nonCompliant') =>
      progress.reduce((n, p) => n + p[k], 0);
    const last = r.stageIndex >= r.stages.length - 1;
    return {
      id: r.id,
      scope: r.scope,
      reason: r.reason,
      status: r.status,
      stages: r.stages,
      stageIndex: r.stageIndex,
      stageWaitSeconds: r.stageWaitSeconds,
      stageStartedAt: r.stageStartedAt,
      nextStageAt:
        r.status === 'running' && !last && r.stageStartedAt
          ? new Date(r.stageStartedAt.getTime() + r.stageWaitSeconds * 1000)
          : null,
      pauseReason: r.pauseReason,
      createdBy: r.createdBy,
      createdAt: r.createdAt,
      finishedAt: r.finishedAt,
      supersededBy: r.supersededBy,
      groups,
      progress,
      totals: {
        devices: sum('devices'),
        converged: sum('converged'),
        pending: sum('pending'),
        failed: sum('failed'),
        held: sum('held'),
        nonCompliant: sum('nonCompliant'),
      },
    };
  }

  private async find(id: string): Promise<Rollout> {
    const rollout = isUuid(id) ? await this.db.getRepository(Rollout).findOneBy({ id }) : null;
    if (!rollout) throw new RolloutError('not-found', 'not-found', `No rollout with id "${id}".`);
    return rollout;
  }
}
