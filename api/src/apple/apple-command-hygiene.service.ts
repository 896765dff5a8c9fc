import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fleetSql } from '../devices/fleet-sql';
import { REPUSH_DELAY_SQL } from './apple-commands.service';
import { commands } from './apple-payloads';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';
import { ApnsService } from './apns.service';

export const DEFAULT_COMMAND_RETENTION_DAYS = 30;
export const DEFAULT_INVENTORY_PERIOD_HOURS = 24;
/** The worker runs `tick` every minute. */
export const TICKS_PER_HOUR = 60;
/** Share of the fleet asked each minute above the exact rate: phones that were offline catch up within the period. */
const INVENTORY_HEADROOM = 1.2;
/** Rows deleted per statement when pruning (short transactions on a hot table). */
const PRUNE_BATCH = 5000;
/** Phones pushed again per minute after a NotNow, at most (the rest wait for the next minute). */
const REPUSH_BATCH = 2000;

/** The three inventory commands, in the order a phone answers them; encoded once. */
const INVENTORY = [
  commands.installedApplicationList(),
  commands.managedApplicationList(),
  commands.deviceInformation(),
];

/**
 * Keeps the Apple command queue fit for a fleet of 250,000 iPhones, every minute:
 * - inventory as a rate: each minute asks the share of the fleet that, at that pace, inventories
 *   every iPhone once per period (24 h by default) — the phones whose last inventory is oldest,
 *   never one that still has an inventory pending (so an offline phone is not asked twice);
 * - a command a phone postponed (NotNow: locked, in a call) is pushed again after 5 min, then 10,
 *   20… up to 6 h, instead of waiting for the next inventory;
 * - answered (or cancelled) commands older than the retention period are deleted.
 */
@Injectable()
export class AppleCommandHygieneService {
  private readonly logger = new Logger('AppleCommands');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly apns: ApnsService,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
  ) {}

  async tick(): Promise<{ inventoried: number; repushed: number; pruned: number }> {
    const inventoried = await this.inventoryShare();
    const repushed = await this.repushPostponed();
    const pruned = await this.prune();
    return { inventoried, repushed, pruned };
  }

  /** How many iPhones one minute asks: the fleet spread over the period, with headroom. */
  async inventoryQuota(): Promise<number> {
    const [{ n }] = (await this.db.query(
      `SELECT count(*)::int AS n FROM device WHERE platform = 'ios' AND ${fleetSql.reachable('device')} AND apns_token IS NOT NULL`,
    )) as { n: number }[];
    const period = this.settings.inventoryPeriodHours ?? DEFAULT_INVENTORY_PERIOD_HOURS;
    return n === 0 ? 0 : Math.ceil((n / (period * TICKS_PER_HOUR)) * INVENTORY_HEADROOM);
  }

  /**
   * One minute's share of the inventory: the iPhones not inventoried for the longest (never first),
   * at least most of a period ago, with no inventory already pending. Queued in one statement, then
   * one push each.
   */
  async inventoryShare(quota?: number): Promise<number> {
    const limit = quota ?? (await this.inventoryQuota());
    if (limit === 0) return 0;
    const period = this.settings.inventoryPeriodHours ?? DEFAULT_INVENTORY_PERIOD_HOURS;
    const encoded = INVENTORY.map((c) => Buffer.from(JSON.stringify(c)));
    const rows = (await this.db.query(
      `WITH due AS (
         SELECT d.id FROM device d
          WHERE d.platform = 'ios' AND ${fleetSql.reachable('d')} AND d.apns_token IS NOT NULL
            AND (d.inventory_at IS NULL OR d.inventory_at < now() - make_interval(mins => $1))
            AND NOT EXISTS (SELECT 1 FROM apple_command c
                             WHERE c.device_id = d.id AND c.status IN ('queued', 'sent', 'not-now')
                               AND c.request_type = 'InstalledApplicationList')
          ORDER BY d.inventory_at NULLS FIRST, d.id
          LIMIT $2
       ), queued AS (
         INSERT INTO apple_command (device_id, request_type, command)
         SELECT due.id, x.request_type, x.command
           FROM due, unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS x(request_type, command, n)
          ORDER BY due.id, x.n
         RETURNING device_id
       )
       SELECT DISTINCT device_id FROM queued`,
      [
        // Not asked again before 90 % of the period: the minute quota keeps up without reaching the same phones twice.
        Math.floor(period * 60 * 0.9),
        limit,
        INVENTORY.map((c) => c.RequestType as string),
        encoded,
      ],
    )) as { device_id: string }[];
    await this.wakeAll(rows.map((r) => r.device_id));
    return rows.length;
  }

  /** Phones with a postponed command whose next push is due: pushed now, next push later (backoff). */
  async repushPostponed(): Promise<number> {
    const rows = (await this.db.query(
      `WITH due AS (
         SELECT uuid FROM apple_command WHERE status = 'not-now' AND repush_at <= now()
          ORDER BY repush_at LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       UPDATE apple_command c SET repush_at = now() + ${REPUSH_DELAY_SQL}, not_now_count = not_now_count + 1
         FROM due WHERE c.uuid = due.uuid
       RETURNING c.device_id`,
      [REPUSH_BATCH],
    )) as [{ device_id: string }[], number];
    const devices = [...new Set(rows[0].map((r) => r.device_id))];
    await this.wakeAll(devices);
    return devices.length;
  }

  /** Deletes answered and cancelled commands older than the retention period; returns how many. */
  async prune(): Promise<number> {
    const days = this.settings.commandRetentionDays ?? DEFAULT_COMMAND_RETENTION_DAYS;
    let total = 0;
    for (;;) {
      const [, count] = (await this.db.query(
        `DELETE FROM apple_command WHERE uuid IN (
           SELECT uuid FROM apple_command
            WHERE status IN ('acknowledged', 'error', 'cancelled')
              AND coalesce(answered_at, created_at) < now() - make_interval(days => $1)
            LIMIT $2)`,
        [days, PRUNE_BATCH],
      )) as [unknown, number];
      total += count;
      if (count < PRUNE_BATCH) return total;
    }
  }

  private async wakeAll(deviceIds: string[]): Promise<void> {
    for (const id of deviceIds)
      await this.apns.wake(id).catch((e: Error) => this.logger.warn(`push for ${id}: ${e.message}`));
  }
}
