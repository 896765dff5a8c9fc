import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { PlistDict, toPlistXml } from './apple-payloads';

export interface NextCommand {
  uuid: string;
  xml: string;
}

/** Apps and Books: licenses an InstallApplication before it is queued (VppService registers itself). */
export interface InstallLicensing {
  prepareInstall(tx: EntityManager, deviceId: string, command: PlistDict): Promise<PlistDict>;
}

/**
 * The uuid of the command a device gets next (the sub-query of `next`, also run by the Idle poll's
 * single statement in MdmProtocolService): locked, so two polls never get the same one.
 */
export const NEXT_COMMAND_SQL = (deviceId: string): string =>
  `SELECT uuid FROM apple_command
    WHERE device_id = ${deviceId} AND (status IN ('queued', 'sent') OR (status = 'not-now' AND not_now_until <= now()))
    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`;

/** The command row as the device receives it. */
export function nextCommandOf(row: { uuid: string; command: Buffer }): NextCommand {
  const command = JSON.parse(row.command.toString(), (_k, v: unknown) =>
    v && typeof v === 'object' && '$data' in (v as object) ? Buffer.from((v as { $data: string }).$data, 'base64') : v,
  ) as PlistDict;
  return { uuid: row.uuid, xml: toPlistXml({ CommandUUID: row.uuid.toUpperCase(), Command: command }) };
}

/**
 * When to push a phone again after its n-th NotNow (n = not_now_count before this one): 5 min,
 * 10, 20… up to 6 hours (a locked phone in a drawer is not woken every five minutes all night).
 */
export const REPUSH_DELAY_SQL = `make_interval(secs => least(300 * power(2, least(not_now_count, 10)), 21600))`;

/**
 * The uuid of an InstallApplication of `bundleId` that makes a new one pointless, null when the app
 * is already installed as a managed app (last ManagedApplicationList), undefined when none: one
 * queued, handed out or postponed, or one acknowledged that no managed apps' list has confirmed or
 * refuted since (the phone is installing it). Serialised per device: two pushes at once queue one.
 */
export async function installAlreadyQueued(
  tx: EntityManager,
  deviceId: string,
  bundleId: string,
): Promise<string | null | undefined> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('apple-install:' || $1, 0))`, [deviceId]);
  const [row] = (await tx.query(
    `SELECT (SELECT c.uuid FROM apple_command c
               WHERE c.device_id = $1 AND c.request_type = 'InstallApplication' AND c.target = $2
                 AND (c.status IN ('queued', 'sent', 'not-now')
                      OR (c.status = 'acknowledged' AND NOT EXISTS (
                            SELECT 1 FROM apple_command m
                             WHERE m.device_id = $1 AND m.request_type = 'ManagedApplicationList'
                               AND m.status = 'acknowledged' AND m.answered_at > c.answered_at)))
               LIMIT 1) AS uuid,
            EXISTS (SELECT 1 FROM device d, jsonb_array_elements(d.installed_apps) a
                     WHERE d.id = $1 AND a->>'id' = $2 AND (a->>'managed')::boolean) AS managed`,
    [deviceId, bundleId],
  )) as { uuid: string | null; managed: boolean }[];
  if (row.uuid) return row.uuid;
  return row.managed ? null : undefined;
}

/** A NotNow answer is tried again after this, not in a loop within the same session. */
const NOT_NOW_RETRY_SECONDS = 300;

/**
 * The per-device command queue, in PostgreSQL, in order. A command is handed out until the device
 * answers it; once Acknowledged (or Error) it is never handed out again.
 */
@Injectable()
export class AppleCommandsService {
  licensing: InstallLicensing | null = null;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async enqueue(
    tx: EntityManager,
    deviceId: string,
    command: PlistDict,
    policyHash: string | null = null,
  ): Promise<string> {
    // The app an install is for, kept beside the command (Apps and Books replaces its Identifier).
    const target =
      command.RequestType === 'InstallApplication' && typeof command.Identifier === 'string'
        ? command.Identifier
        : null;
    if (target) {
      // Never twice the same install: one pending or in progress stands, an app already managed needs none.
      // '' when nothing is queued: the app is already there as a managed app.
      const existing = await installAlreadyQueued(tx, deviceId, target);
      if (existing !== undefined) return existing ?? '';
    }
    if (this.licensing && command.RequestType === 'InstallApplication')
      command = await this.licensing.prepareInstall(tx, deviceId, command);
    const [row] = (await tx.query(
      `INSERT INTO apple_command (device_id, request_type, command, policy_hash, target) VALUES ($1, $2, $3, $4, $5) RETURNING uuid`,
      [
        deviceId,
        command.RequestType as string,
        Buffer.from(
          JSON.stringify(command, (_k, v: unknown) =>
            v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
              ? { $data: Buffer.from((v as { data: number[] }).data).toString('base64') }
              : v,
          ),
        ),
        policyHash,
        target,
      ],
    )) as { uuid: string }[];
    return row.uuid;
  }

  /** Queued (or already sent but unanswered) commands that a device has not yet got this session. */
  async next(deviceId: string): Promise<NextCommand | null> {
    const rows = (await this.db.query(
      `UPDATE apple_command SET status = 'sent', sent_at = now()
        WHERE uuid = (${NEXT_COMMAND_SQL('$1')})
        RETURNING uuid, command`,
      [deviceId],
    )) as [{ uuid: string; command: Buffer }[], number];
    const row = rows[0][0];
    return row ? nextCommandOf(row) : null;
  }

  /** Records the device's answer; false when the command is unknown or already answered (a replay). */
  async answer(
    deviceId: string,
    uuid: string,
    status: 'Acknowledged' | 'Error' | 'NotNow',
    result: unknown,
  ): Promise<{ requestType: string; policyHash: string | null } | null> {
    const next = status === 'Acknowledged' ? 'acknowledged' : status === 'Error' ? 'error' : 'not-now';
    // A NotNow: handed out again from not_now_until, and pushed again (repush_at) with a growing delay.
    const rows = (await this.db.query(
      `UPDATE apple_command SET status = $3, answered_at = now(), result = $4,
              not_now_until = CASE WHEN $3 = 'not-now' THEN now() + make_interval(secs => $5) ELSE NULL END,
              repush_at = CASE WHEN $3 = 'not-now' THEN now() + ${REPUSH_DELAY_SQL} ELSE NULL END,
              not_now_count = not_now_count + CASE WHEN $3 = 'not-now' THEN 1 ELSE 0 END
        WHERE device_id = $1 AND uuid = $2 AND status IN ('sent', 'queued', 'not-now')
        RETURNING request_type, policy_hash`,
      [deviceId, uuid.toLowerCase(), next, JSON.stringify(result), NOT_NOW_RETRY_SECONDS],
    )) as [{ request_type: string; policy_hash: string | null }[], number];
    const row = rows[0][0];
    return row ? { requestType: row.request_type, policyHash: row.policy_hash } : null;
  }

  /** A new policy makes the older, still unanswered profile installations pointless. */
  async cancelPending(tx: EntityManager, deviceId: string, requestType: string): Promise<void> {
    await tx.query(
      `UPDATE apple_command SET status = 'cancelled' WHERE device_id = $1 AND request_type = $2 AND status IN ('queued', 'not-now')`,
      [deviceId, requestType],
    );
  }

  /** Queued as if postponed: handed out, and the phone pushed, only after `seconds` (then with backoff). */
  async enqueueLater(tx: EntityManager, deviceId: string, command: PlistDict, seconds: number): Promise<string> {
    const uuid = await this.enqueue(tx, deviceId, command);
    if (uuid)
      await tx.query(
        `UPDATE apple_command SET status = 'not-now', not_now_until = now() + make_interval(secs => $2),
                repush_at = now() + make_interval(secs => $2) WHERE uuid = $1 AND status = 'queued'`,
        [uuid, seconds],
      );
    return uuid;
  }
}
