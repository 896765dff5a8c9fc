import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '../common/canonical-hash';
import { complianceApps } from '../compliance/compliance-apps';
import {
  ComplianceEvaluation,
  ComplianceReason,
  ComplianceState,
  evaluateCompliance,
  reasonLine,
} from '../compliance/compliance-evaluator';
import type { EffectivePolicy } from '../policies/effective-policy.types';
import type { InstalledApp, Ownership } from './device.entity';
import { fleetSql } from './fleet-sql';
import { versionBelow } from '../compliance/os-version';
import { osTooOld, Platform } from './platforms';

export const FLEET_SETTINGS = Symbol('FLEET_SETTINGS');

export interface FleetSettings {
  /** A phone that has not reported for more than this many days is `stale` (COMPLIANCE_STALE_DAYS). */
  staleAfterDays: number;
}

export const DEFAULT_STALE_AFTER_DAYS = 7;

/** A device as it enters the fleet (enrollment, or demo data). */
export interface NewDevice {
  platform: Platform;
  ownership: Ownership;
  agentId: string | null;
  ministry: string;
  displayName: string;
  model: string | null;
  androidDeviceName?: string | null;
  appleUdid?: string | null;
  appleIdentitySerial?: string | null;
  osVersion?: string | null;
  /** Default: now. */
  lastSeenAt?: Date | null;
}

/** What a phone reports about itself, in platform-neutral terms. */
export interface DeviceReport {
  installed: InstalledApp[];
  osVersion: string | null;
  /** Whether apps can be blocked on it (an iPhone: supervised). */
  supervised: boolean | null;
  /** What the platform could not apply, one sentence each. */
  policyErrors: string[];
}

/** One Android status report as the batch ingestion writes it (see recordAndroidReports). */
export interface AndroidStatusReport {
  /** enterprises/E/devices/D */
  name: string;
  /** The report's `lastStatusReportTime` (ISO 8601): reports are applied in this order. */
  reportTime: string;
  installed: InstalledApp[];
  osVersion: string | null;
  policyErrors: string[];
  /** Google says the phone is gone (state DELETED). */
  unenrolled: boolean;
  /** The policy version the phone applied, when it says. */
  applied: { enterprise: string; policy: string; version: string } | null;
  /** What it could not apply, for push_error when that is not its desired policy. */
  detail: string | null;
  /** The real errors among them (PENDING is not one): the push failed, as recordApplied's `errors`. */
  failures: string[];
}

/** A report naming a policy version newer than any recorded is handed back for this long at most. */
const NOT_YET_PUBLISHED_MS = 120_000;

export interface AndroidReportsOutcome {
  written: number;
  /** Phones whose report names a policy version the engine is still recording: to be read again shortly. */
  notYet: string[];
  /** Phones whose row already holds a newer report. */
  older: string[];
  /** Names no device row has (the reconciliation looks at them). */
  unknown: string[];
}

interface FactsRow {
  id: string;
  platform: Platform;
  group_id: string | null;
  installed_apps: InstalledApp[];
  supervised: boolean | null;
  os_version: string | null;
  reported_at: Date | null;
  policy_errors: string[];
  compliance: ComplianceState;
  compliance_reasons: ComplianceReason[];
  banned_apps: string[];
  compliance_at: Date | null;
}

type Exec = <T>(sql: string, params?: unknown[]) => Promise<{ rows: T[]; count: number }>;

const PAGE = 1000;

/**
 * Adds a device row. The one INSERT INTO device of the service (enrollment on each platform, and
 * the demo data), so that a new column or rule is added in one place.
 */
export async function insertDevice(tx: EntityManager, device: NewDevice): Promise<string> {
  const [{ id }] = (await tx.query(
    `INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, model, android_device_name, apple_udid,
                         apple_identity_serial, os_version, last_seen_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now())) RETURNING id`,
    [
      device.platform,
      device.ownership,
      device.agentId,
      device.ministry,
      device.displayName,
      device.model,
      device.androidDeviceName ?? null,
      device.appleUdid ?? null,
      device.appleIdentitySerial ?? null,
      device.osVersion ?? null,
      device.lastSeenAt ?? null,
    ],
  )) as { id: string }[];
  return id;
}

/**
 * The one owner of device state: every write to a `device` row goes through here (enrollment,
 * group membership, push bookkeeping, what phones report, compliance). The platform modules and
 * the rollout engine say what happened; this service writes it and keeps compliance current: it is
 * evaluated again (one evaluator for every platform) when a report arrives and when the device's
 * desired policy changes. The read model (counters per ministry, platform, state, app, rollout
 * band) follows every write through the table's triggers.
 */
@Injectable()
export class DeviceStateService {
  private readonly logger = new Logger('DeviceState');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(FLEET_SETTINGS) readonly settings: FleetSettings,
  ) {}

  /** Runs a statement in the caller's transaction, or alone; rows and affected count either way. */
  private exec(tx?: EntityManager): Exec {
    return async <T>(sql: string, params: unknown[] = []) => {
      const runner = tx?.queryRunner ?? this.db.createQueryRunner();
      try {
        const result = await runner.query(sql, params, true);
        return { rows: (result.records ?? []) as T[], count: result.affected ?? result.records?.length ?? 0 };
      } finally {
        if (!tx?.queryRunner) await runner.release();
      }
    };
  }

  // --- Enrollment and identity ------------------------------------------------------------------

  async enroll(tx: EntityManager, device: NewDevice): Promise<string> {
    return insertDevice(tx, device);
  }

  /** An iPhone enrolling again (a new identity): back in the fleet. */
  async reenroll(
    tx: EntityManager,
    id: string,
    v: { appleIdentitySerial: string; model: string | null; osVersion: string | null },
  ): Promise<void> {
    await this.exec(tx)(
      `UPDATE device SET unenrolled_at = NULL, apple_identity_serial = $2, last_seen_at = now(), model = coalesce($3, model),
              os_version = coalesce($4, os_version) WHERE id = $1`,
      [id, v.appleIdentitySerial, v.model, v.osVersion],
    );
  }

  /** The platform policy a device enrolled into (Android), when none is recorded yet. */
  async bindPolicy(tx: EntityManager, id: string, policy: string): Promise<void> {
    await this.exec(tx)(`UPDATE device SET bound_policy = $2 WHERE id = $1 AND bound_policy IS NULL`, [id, policy]);
  }

  /** Apple TokenUpdate: how to wake the iPhone. Undefined when no device has this UDID. */
  async updatePushToken(
    tx: EntityManager,
    udid: string,
    v: { token: string; pushMagic: string; topic: string | null },
  ): Promise<{ id: string; group_id: string | null } | undefined> {
    const { rows } = await this.exec(tx)<{ id: string; group_id: string | null }>(
      `UPDATE device SET apns_token = $2, push_magic = $3, apns_topic = $4, apns_dead_at = NULL, last_seen_at = now()
        WHERE apple_udid = $1 RETURNING id, group_id`,
      [udid, v.token, v.pushMagic, v.topic],
    );
    return rows[0];
  }

  /** An iPhone's identity renewed in place: the device keeps its row, speaking with the new certificate. */
  async switchIdentity(
    tx: EntityManager,
    udid: string,
    serial: string,
  ): Promise<{ id: string; ministry_code: string }[]> {
    const { rows } = await this.exec(tx)<{ id: string; ministry_code: string }>(
      `UPDATE device SET apple_identity_serial = $1 WHERE apple_udid = $2 RETURNING id, ministry_code`,
      [serial, udid],
    );
    return rows;
  }

  /** APNs said the push token is no longer valid: the device must enroll again. */
  async markPushChannelDead(id: string): Promise<void> {
    await this.exec()(`UPDATE device SET apns_dead_at = now() WHERE id = $1`, [id]);
  }

  /** The device talked to us. */
  async touch(id: string): Promise<void> {
    await this.exec()(`UPDATE device SET last_seen_at = now() WHERE id = $1`, [id]);
  }

  /** Devices heard from since the last call (Apple Idle polls, batched by MdmProtocolService). */
  async touchAll(ids: string[]): Promise<void> {
    await this.exec()(`UPDATE device SET last_seen_at = now() WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** Apple CheckOut: every device with this UDID leaves the fleet. */
  async checkOut(tx: EntityManager, udid: string): Promise<{ id: string; ministry_code: string }[]> {
    const { rows } = await this.exec(tx)<{ id: string; ministry_code: string }>(
      `UPDATE device SET unenrolled_at = now() WHERE apple_udid = $1 AND ${fleetSql.reachable('device')} RETURNING id, ministry_code`,
      [udid],
    );
    return rows;
  }

  /** Removed on the platform's side (Android reconciliation). */
  async unenroll(tx: EntityManager, id: string): Promise<void> {
    await this.exec(tx)(`UPDATE device SET unenrolled_at = coalesce(unenrolled_at, now()) WHERE id = $1`, [id]);
  }

  /** Retired by IT (the agent left, the phone is wiped): out of the fleet; false when it already was. */
  async retire(tx: EntityManager, id: string): Promise<boolean> {
    const { count } = await this.exec(tx)(
      `UPDATE device SET unenrolled_at = now() WHERE id = $1 AND ${fleetSql.reachable('device')}`,
      [id],
    );
    return count > 0;
  }

  /** Given to another agent, possibly of another ministry (the caller regroups it in the same transaction). */
  async reassign(tx: EntityManager, id: string, agentId: string, ministry: string): Promise<void> {
    await this.exec(tx)(`UPDATE device SET agent_id = $2, ministry_code = $3 WHERE id = $1`, [id, agentId, ministry]);
  }

  // --- Group membership (desired state) ---------------------------------------------------------

  /** Into another group (another desired policy): a fresh start for its pushes, and compliance judged again. */
  async moveToGroups(tx: EntityManager, moves: { id: string; groupId: string }[]): Promise<void> {
    if (moves.length === 0) return;
    await this.exec(tx)(
      `UPDATE device d SET group_id = m.group_id, push_state = 'ok', push_attempts = 0, push_error = NULL
         FROM (SELECT * FROM unnest($1::uuid[], $2::text[]) AS m(id, group_id) ORDER BY id) m WHERE d.id = m.id`,
      [moves.map((m) => m.id), moves.map((m) => m.groupId)],
    );
    await this.refreshCompliance(
      tx,
      moves.map((m) => m.id),
    );
  }

  /** Devices of the temporary table `ungrouped` (id, ministry_code, apps) into the group of their ministry and apps. */
  async assignUngrouped(tx: EntityManager): Promise<string[]> {
    const { rows } = await this.exec(tx)<{ id: string }>(
      `UPDATE device d SET group_id = g.id FROM ungrouped u JOIN policy_group g ON g.ministry_code = u.ministry_code AND g.exempted_apps = u.apps
        WHERE d.id = u.id RETURNING d.id`,
    );
    return rows.map((r) => r.id);
  }

  // --- Push bookkeeping (rollout engine) --------------------------------------------------------

  /** The platform refused a group's policy for good: its devices on that platform failed (for that content), with the reason. */
  async markGroupFailed(groupId: string, platform: Platform, message: string): Promise<void> {
    await this.exec()(
      `UPDATE device SET push_state = 'failed', push_error = $3, last_push_at = now(),
              push_failed_for = (SELECT desired_hash FROM policy_group WHERE id = $1)
        WHERE group_id = $1 AND platform = $2 AND push_state <> 'failed'`,
      [groupId, platform, message],
    );
  }

  /**
   * A push went through: the device is attached to a shared policy (`boundPolicy`: the policy name
   * last assigned, so that it is never assigned again), or was sent its own content. Nothing is left
   * to do on our side: the device is waiting for the phone (see fleetSql.waiting) — unless the phone
   * already answered (a report can overtake this write) with an error on its desired content.
   */
  async recordPushed(
    id: string,
    sent: { boundPolicy: string } | { pushedHash: string },
    tx?: EntityManager,
  ): Promise<void> {
    const reported = `d.push_state = 'failed' AND d.push_failed_for = g.desired_hash`;
    await this.exec(tx)(
      `UPDATE device d SET ${'boundPolicy' in sent ? 'bound_policy' : 'pushed_hash'} = $2, last_push_at = now(),
              push_state = CASE WHEN ${reported} THEN 'failed' ELSE 'ok' END,
              push_attempts = 0,
              push_error = CASE WHEN ${reported} THEN d.push_error END,
              push_failed_for = CASE WHEN ${reported} THEN d.push_failed_for END
         FROM device x LEFT JOIN policy_group g ON g.id = x.group_id
        WHERE d.id = $1 AND x.id = d.id`,
      [id, 'boundPolicy' in sent ? sent.boundPolicy : sent.pushedHash],
    );
  }

  /** A push did not go through: retried later (`retryable`), or failed for good for the content `forHash`. */
  async recordPushFailure(
    id: string,
    retryable: boolean,
    message: string,
    forHash: string | null = null,
  ): Promise<void> {
    await this.exec()(
      `UPDATE device SET push_state = $2, push_error = $3, push_attempts = push_attempts + 1, last_push_at = now(),
              push_failed_for = CASE WHEN $2 = 'failed' THEN $4 ELSE push_failed_for END
        WHERE id = $1`,
      [id, retryable ? 'retrying' : 'failed', message, forHash],
    );
  }

  /**
   * The device says it applied `hash`: converged when it is its group's desired one. It failed only
   * when it reports a real error (`errors`: what it could not apply, PENDING excluded), recorded
   * against its desired content (the change it was given); without one it is on its way (switched off, not fetched yet):
   * waiting, never failed. A failure for other content no longer counts once it reports without error.
   */
  async recordApplied(id: string, appliedHash: string, detail: string, errors: string[] = []): Promise<void> {
    await this.exec()(
      `UPDATE device d SET applied_hash = $2, last_seen_at = now(),
              push_state = CASE WHEN $4 THEN 'failed' WHEN $2 = g.desired_hash THEN 'ok'
                                WHEN d.push_state = 'failed' AND d.push_failed_for IS DISTINCT FROM g.desired_hash THEN 'ok'
                                ELSE d.push_state END,
              push_failed_for = CASE WHEN $4 THEN g.desired_hash WHEN $2 = g.desired_hash THEN NULL ELSE d.push_failed_for END,
              push_attempts = CASE WHEN $2 = g.desired_hash THEN 0 ELSE d.push_attempts END,
              push_error = CASE WHEN $4 THEN $3 WHEN $2 = g.desired_hash THEN NULL ELSE coalesce(d.push_error, $3) END
         FROM policy_group g WHERE d.id = $1 AND g.id = d.group_id`,
      [id, appliedHash, errors.length > 0 ? errors.join('; ') : detail, errors.length > 0],
    );
  }

  /** Every device attached to the shared policy `name` applied `hash` (when it is still their desired one). */
  async recordPolicyApplied(name: string, appliedHash: string): Promise<number> {
    const { count } = await this.exec()(
      `UPDATE device d SET applied_hash = $2, last_seen_at = now(), push_state = 'ok', push_attempts = 0, push_error = NULL
         FROM policy_group g WHERE d.bound_policy = $1 AND g.id = d.group_id AND g.desired_hash = $2`,
      [name, appliedHash],
    );
    return count;
  }

  /** Picked by the retry loop: the next pick waits for its backoff (from push_attempts, counted by failures). */
  async markRetrying(tx: EntityManager, ids: string[]): Promise<void> {
    await this.exec(tx)(`UPDATE device SET last_push_at = now() WHERE id = ANY($1)`, [ids]);
  }

  // --- What phones report, and compliance -------------------------------------------------------

  /**
   * A complete report (Android status report, a simulated phone's inventory): installed apps, OS,
   * what could not be applied. `unenrolled`: the platform says the device is gone.
   */
  async recordReport(id: string, report: DeviceReport, opts: { unenrolled?: boolean } = {}): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.exec(tx)(
        `UPDATE device SET last_seen_at = now(), reported_at = now(), installed_apps = $2, os_version = coalesce($3, os_version),
                supervised = coalesce($4, supervised), policy_errors = $5,
                unenrolled_at = CASE WHEN $6 THEN coalesce(unenrolled_at, now()) ELSE NULL END WHERE id = $1`,
        [
          id,
          JSON.stringify(report.installed),
          report.osVersion,
          report.supervised,
          report.policyErrors,
          opts.unenrolled ?? false,
        ],
      );
      await this.refreshCompliance(tx, [id]);
    });
  }

  /**
   * A batch of Android status reports (one Pub/Sub pull, or one push) in one transaction and one
   * UPDATE: the facts, what each phone applied (converged when it is its group's desired policy,
   * failed only on a real error: the same rules as recordApplied) and its compliance, judged here by the shared evaluator from the report itself
   * (so each row is written once). A report older than the one a row holds (`android_report_time`)
   * changes nothing: Pub/Sub does not deliver in order. Several reports of one phone: the newest counts.
   */
  async recordAndroidReports(reports: AndroidStatusReport[]): Promise<AndroidReportsOutcome> {
    if (reports.length === 0) return { written: 0, older: [], unknown: [], notYet: [] };
    const newest = new Map<string, AndroidStatusReport>();
    for (const r of reports) {
      const seen = newest.get(r.name);
      if (!seen || Date.parse(r.reportTime) >= Date.parse(seen.reportTime)) newest.set(r.name, r);
    }
    return this.db.transaction(async (tx) => {
      const outcome: AndroidReportsOutcome = { written: 0, older: [], unknown: [], notYet: [] };
      let todo = [...newest.values()];
      // Unlocked first (a lock is a write per row); a phone the engine moved meanwhile is done again, locked.
      for (const lock of [false, true]) {
        if (todo.length === 0) break;
        todo = await this.writeAndroidReports(tx, todo, lock, outcome);
      }
      return outcome;
    });
  }

  /** One pass of recordAndroidReports; returns the reports whose row changed group under it (unlocked pass). */
  private async writeAndroidReports(
    tx: EntityManager,
    reports: AndroidStatusReport[],
    lock: boolean,
    outcome: AndroidReportsOutcome,
  ): Promise<AndroidStatusReport[]> {
    const exec = this.exec(tx);
    const byName = new Map(reports.map((r) => [r.name, r]));
    const { rows } = await exec<{
      id: string;
      name: string;
      group_id: string | null;
      report_time: Date | null;
      os_version: string | null;
    }>(
      `SELECT id, android_device_name AS name, group_id, android_report_time AS report_time, os_version
         FROM device WHERE android_device_name = ANY($1) ORDER BY id ${lock ? 'FOR UPDATE' : ''}`,
      [[...byName.keys()]],
    );
    const groupIds = [...new Set(rows.map((r) => r.group_id).filter((g): g is string => g !== null))];
    const { rows: groups } = groupIds.length
      ? await exec<{ id: string; effective: EffectivePolicy }>(
          `SELECT id, effective FROM policy_group WHERE id = ANY($1)`,
          [groupIds],
        )
      : { rows: [] };
    const apps = new Map(groups.map((g) => [g.id, complianceApps(g.effective, 'android')]));
    // A version newer than any we recorded for that policy: the engine is recording its publication
    // right now (the phone applied it within the 100 ms). Handed back, the report is read again shortly.
    const applied = reports.filter((r) => r.applied);
    const { rows: latest } = applied.length
      ? await exec<{ enterprise: string; policy: string; version: string }>(
          `SELECT p.enterprise_name AS enterprise, p.policy_name AS policy, max(p.version)::text AS version
             FROM android_policy_publication p
             JOIN unnest($1::text[], $2::text[]) AS a(enterprise, policy) ON p.enterprise_name = a.enterprise AND p.policy_name = a.policy
            GROUP BY 1, 2`,
          [applied.map((r) => r.applied?.enterprise), applied.map((r) => r.applied?.policy)],
        )
      : { rows: [] };
    const latestVersion = new Map(latest.map((l) => [`${l.enterprise}/${l.policy}`, BigInt(l.version)]));
    const clock = { now: new Date(), staleAfterDays: this.settings.staleAfterDays };
    const writes: (Record<string, unknown> & { id: string; name: string })[] = [];
    for (const row of rows) {
      const r = byName.get(row.name) as AndroidStatusReport;
      if (row.report_time && Date.parse(r.reportTime) < row.report_time.getTime()) {
        outcome.older.push(row.name);
        continue;
      }
      const known = r.applied ? latestVersion.get(`${r.applied.enterprise}/${r.applied.policy}`) : undefined;
      if (
        r.applied &&
        known !== undefined &&
        BigInt(r.applied.version) > known &&
        clock.now.getTime() - Date.parse(r.reportTime) < NOT_YET_PUBLISHED_MS
      ) {
        outcome.notYet.push(row.name);
        continue;
      }
      const policyApps = row.group_id ? apps.get(row.group_id) : undefined;
      const result: ComplianceEvaluation = policyApps
        ? evaluateCompliance(
            {
              reportedAt: clock.now,
              installed: r.installed.map((a) => a.id),
              // The policy governs what it manages (the whole phone, or its work profile): apps can be blocked there.
              supervised: true,
              osTooOld: osTooOld('android', r.osVersion ?? row.os_version),
              policyErrors: r.policyErrors,
            },
            policyApps,
            clock,
          )
        : { state: 'unknown', reasons: [], bannedApps: [] };
      writes.push({
        id: row.id,
        name: row.name,
        group_id: row.group_id,
        report_time: r.reportTime,
        installed: r.installed,
        os_version: r.osVersion,
        policy_errors: r.policyErrors,
        unenrolled: r.unenrolled,
        enterprise: r.applied?.enterprise ?? null,
        policy: r.applied?.policy ?? null,
        version: r.applied?.version ?? null,
        detail: r.detail,
        errors: r.failures.length > 0 ? r.failures.join('; ') : null,
        state: result.state,
        reason: reasonLine(result.reasons),
        reasons: result.reasons,
        banned: result.bannedApps,
      });
    }
    const seen = new Set(rows.map((r) => r.name));
    outcome.unknown.push(...[...byName.keys()].filter((n) => !seen.has(n)));
    if (writes.length === 0) return [];
    const { rows: done } = await exec<{ id: string }>(
      `UPDATE device d SET last_seen_at = now(), reported_at = now(), android_report_time = r.report_time,
              installed_apps = r.installed, os_version = coalesce(r.os_version, d.os_version), supervised = true,
              policy_errors = r.policy_errors,
              unenrolled_at = CASE WHEN r.unenrolled THEN coalesce(d.unenrolled_at, now()) ELSE NULL END,
              applied_hash = coalesce(r.hash, d.applied_hash),
              push_state = CASE WHEN r.hash IS NULL THEN d.push_state WHEN r.errors IS NOT NULL THEN 'failed'
                                WHEN r.hash = r.desired_hash THEN 'ok'
                                WHEN d.push_state = 'failed' AND d.push_failed_for IS DISTINCT FROM r.desired_hash THEN 'ok'
                                ELSE d.push_state END,
              push_failed_for = CASE WHEN r.hash IS NULL THEN d.push_failed_for WHEN r.errors IS NOT NULL THEN r.desired_hash
                                     WHEN r.hash = r.desired_hash THEN NULL ELSE d.push_failed_for END,
              push_attempts = CASE WHEN r.hash = r.desired_hash THEN 0 ELSE d.push_attempts END,
              push_error = CASE WHEN r.hash IS NULL THEN d.push_error WHEN r.errors IS NOT NULL THEN r.errors
                                WHEN r.hash = r.desired_hash THEN NULL
                                ELSE coalesce(d.push_error, r.detail, 'the device reports policy ' || left(r.hash, 12) || ', not the expected one') END,
              compliance = r.state, compliance_reason = r.reason, compliance_reasons = r.reasons, banned_apps = r.banned,
              compliance_at = CASE WHEN d.compliance_at IS NULL OR d.compliance IS DISTINCT FROM r.state
                                     OR d.compliance_reasons IS DISTINCT FROM r.reasons OR d.banned_apps IS DISTINCT FROM r.banned
                                   THEN now() ELSE d.compliance_at END
         FROM (SELECT v.*, g.desired_hash, CASE WHEN g.id IS NOT NULL THEN p.hash END AS hash
                 FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, group_id text, report_time timestamptz, installed jsonb,
                      os_version text, policy_errors text[], unenrolled boolean, enterprise text, policy text, version bigint,
                      detail text, errors text, state text, reason text, reasons jsonb, banned text[])
                 LEFT JOIN policy_group g ON g.id = v.group_id
                 LEFT JOIN android_policy_publication p
                        ON p.enterprise_name = v.enterprise AND p.policy_name = v.policy AND p.version = v.version
                ORDER BY v.id) r
        WHERE d.id = r.id AND d.group_id IS NOT DISTINCT FROM r.group_id
          AND (d.android_report_time IS NULL OR r.report_time >= d.android_report_time)
        RETURNING d.id`,
      // PostgreSQL refuses NUL in text and jsonb: a phone's odd string must not hold up its whole batch.
      [JSON.stringify(writes).replace(/\\u0000/g, '')],
    );
    outcome.written += done.length;
    if (done.length === writes.length) return [];
    const ids = new Set(done.map((d) => d.id));
    // Moved to another group (or reported newer) under us: judged again, locked.
    return lock ? [] : writes.filter((w) => !ids.has(w.id)).map((w) => byName.get(w.name) as AndroidStatusReport);
  }

  /** Apple InstalledApplicationList: the inventory, without its "managed" flags (ManagedApplicationList adds them). */
  async recordInventory(id: string, installed: InstalledApp[]): Promise<ComplianceEvaluation | undefined> {
    return this.db.transaction(async (tx) => {
      await this.exec(tx)(
        `UPDATE device SET installed_apps = $2, inventory_at = now(), reported_at = now(), last_seen_at = now() WHERE id = $1`,
        [id, JSON.stringify(installed)],
      );
      return (await this.refreshCompliance(tx, [id])).get(id);
    });
  }

  /**
   * Apple ManagedApplicationList: which of the installed apps we manage (and so may remove); a
   * managed app installed since the last inventory (`installed`: status Managed) joins the inventory.
   */
  async markManaged(
    id: string,
    bundleIds: string[],
    installed: string[] = [],
  ): Promise<ComplianceEvaluation | undefined> {
    return this.db.transaction(async (tx) => {
      await this.exec(tx)(
        `UPDATE device SET installed_apps = (
           SELECT coalesce(jsonb_agg(app), '[]') FROM (
             SELECT CASE WHEN a->>'id' = ANY($2) THEN a || '{"managed": true}' ELSE a END AS app FROM jsonb_array_elements(installed_apps) a
             UNION ALL
             SELECT jsonb_build_object('id', m, 'managed', true) FROM unnest($3::text[]) m
              WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(installed_apps) a WHERE a->>'id' = m)) t)
          WHERE id = $1`,
        [id, bundleIds, installed],
      );
      return (await this.refreshCompliance(tx, [id])).get(id);
    });
  }

  /** Apple DeviceInformation: supervision (can apps be blocked?), OS version, model. */
  async recordDeviceInformation(
    id: string,
    v: { supervised: boolean | null; model: string | null; osVersion: string | null },
  ): Promise<ComplianceEvaluation | undefined> {
    return this.db.transaction(async (tx) => {
      // supervised null: the phone did not say (absent is not false), what we knew stays.
      await this.exec(tx)(
        `UPDATE device SET supervised = coalesce($2, supervised), model = coalesce($3, model), os_version = coalesce($4, os_version) WHERE id = $1`,
        [id, v.supervised, v.model, v.osVersion],
      );
      return (await this.refreshCompliance(tx, [id])).get(id);
    });
  }

  /** What the platform could not apply (an iPhone refusing its profile), or [] once it applied it. */
  async recordPolicyErrors(id: string, errors: string[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      const { count } = await this.exec(tx)(
        `UPDATE device SET policy_errors = $2 WHERE id = $1 AND policy_errors IS DISTINCT FROM $2`,
        [id, errors],
      );
      if (count > 0) await this.refreshCompliance(tx, [id]);
    });
  }

  /**
   * Evaluates the devices again against their group's desired policy and what they last reported,
   * and writes the result where it changed. Returns each device's evaluation.
   */
  async refreshCompliance(tx: EntityManager, ids: string[]): Promise<Map<string, ComplianceEvaluation>> {
    const out = new Map<string, ComplianceEvaluation>();
    if (ids.length === 0) return out;
    const exec = this.exec(tx);
    const { rows } = await exec<FactsRow>(
      `SELECT id, platform, group_id, installed_apps, supervised, os_version, reported_at, policy_errors, compliance,
              compliance_reasons, banned_apps, compliance_at
         FROM device WHERE id = ANY($1) ORDER BY id`,
      [ids],
    );
    const groupIds = [...new Set(rows.map((r) => r.group_id).filter((g): g is string => g !== null))];
    const { rows: groups } = groupIds.length
      ? await exec<{ id: string; effective: EffectivePolicy }>(
          `SELECT id, effective FROM policy_group WHERE id = ANY($1)`,
          [groupIds],
        )
      : { rows: [] };
    const effective = new Map(groups.map((g) => [g.id, g.effective]));
    const clock = { now: new Date(), staleAfterDays: this.settings.staleAfterDays };
    const changes: {
      id: string;
      state: string;
      reason: string | null;
      reasons: ComplianceReason[];
      banned: string[];
    }[] = [];
    for (const row of rows) {
      const policy = row.group_id ? effective.get(row.group_id) : undefined;
      // No desired policy yet (just enrolled, not in a group): nothing to judge against.
      const result: ComplianceEvaluation = policy
        ? evaluateCompliance(
            {
              reportedAt: row.reported_at,
              installed: row.installed_apps.map((a) => a.id),
              supervised: row.supervised,
              osTooOld: osTooOld(row.platform, row.os_version),
              // The policy may ask for a newer iOS than the platform's floor (minimumIos).
              belowMinimum:
                row.platform === 'ios' && versionBelow(row.os_version, policy.minimumIos)
                  ? `iOS ${policy.minimumIos}`
                  : null,
              policyErrors: row.policy_errors,
            },
            complianceApps(policy, row.platform),
            clock,
          )
        : { state: 'unknown', reasons: [], bannedApps: [] };
      out.set(row.id, result);
      const unchanged =
        row.compliance_at !== null &&
        row.compliance === result.state &&
        canonicalJson(row.compliance_reasons) === canonicalJson(result.reasons) &&
        canonicalJson(row.banned_apps) === canonicalJson(result.bannedApps);
      if (!unchanged)
        changes.push({
          id: row.id,
          state: result.state,
          reason: reasonLine(result.reasons),
          reasons: result.reasons,
          banned: result.bannedApps,
        });
    }
    if (changes.length > 0) {
      await exec(
        `UPDATE device d SET compliance = v.state, compliance_reason = v.reason, compliance_reasons = v.reasons,
                banned_apps = v.banned, compliance_at = now()
           FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, state text, reason text, reasons jsonb, banned text[])
          WHERE d.id = v.id`,
        [JSON.stringify(changes)],
      );
    }
    return out;
  }

  /**
   * The desired policy of these groups changed (a baseline or ministry change): every device of
   * theirs that reported is judged again, by pages, each page in its own transaction.
   */
  async recomputeGroups(groupIds: string[]): Promise<number> {
    let done = 0;
    for (const groupId of groupIds) {
      // Keyset pages in the order of the (group_id, bucket) index: no sort of the whole group per page.
      let after = { bucket: -1, id: '00000000-0000-0000-0000-000000000000' };
      for (;;) {
        const { rows } = await this.exec()<{ id: string; bucket: number }>(
          `SELECT id, bucket FROM device
            WHERE group_id = $1 AND (bucket, id) > ($2, $3::uuid) AND reported_at IS NOT NULL AND ${fleetSql.reachable('device')}
            ORDER BY bucket, id LIMIT $4`,
          [groupId, after.bucket, after.id, PAGE],
        );
        if (rows.length === 0) break;
        await this.db.transaction((tx) =>
          this.refreshCompliance(
            tx,
            rows.map((r) => r.id),
          ),
        );
        done += rows.length;
        after = rows[rows.length - 1];
      }
    }
    return done;
  }

  /**
   * Every minute: phones whose last report got older than the stale limit become `stale` (set-based),
   * those back within it (the limit was raised) and those never evaluated (reported before this
   * evaluator existed) are evaluated; then the counters' deltas are folded.
   */
  async refresh(limit = 5000): Promise<{ stale: number; evaluated: number }> {
    const days = this.settings.staleAfterDays;
    const { count: stale } = await this.exec()(
      `UPDATE device d SET compliance = 'stale', compliance_at = now()
        WHERE ${fleetSql.reachable('d')} AND d.reported_at IS NOT NULL AND d.compliance <> 'stale' AND ${fleetSql.stale('d', '$1')}`,
      [days],
    );
    const { rows } = await this.exec()<{ id: string }>(
      `(SELECT d.id FROM device d WHERE d.compliance = 'stale' AND NOT ${fleetSql.stale('d', '$1')} AND ${fleetSql.reachable('d')} LIMIT $2)
       UNION
       (SELECT d.id FROM device d WHERE d.compliance_at IS NULL AND d.reported_at IS NOT NULL AND ${fleetSql.reachable('d')} LIMIT $2)`,
      [days, limit],
    );
    for (let i = 0; i < rows.length; i += PAGE) {
      const page = rows.slice(i, i + PAGE).map((r) => r.id);
      await this.db.transaction((tx) => this.refreshCompliance(tx, page));
    }
    await this.foldTallies();
    if (stale > 0 || rows.length > 0)
      this.logger.log(`compliance: ${stale} phone(s) now stale, ${rows.length} evaluated`);
    return { stale, evaluated: rows.length };
  }

  /** Moves the counters' deltas into the counters (see the ComplianceReadModel migration). */
  async foldTallies(): Promise<void> {
    await this.exec()(`SELECT fleet_tally_fold()`);
  }
}
