import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DOMParser } from '@xmldom/xmldom';
import plist from 'plist';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { hostileInputProblem } from '../common/input.pipe';
import { plistShapeProblem } from '../common/prescan';
import { isUuid } from '../common/uuid';
import { InstalledApp } from '../devices/device.entity';
import { DeviceStateService } from '../devices/device-state.service';
import { fleetSql } from '../devices/fleet-sql';
import { PolicyGroup } from '../rollout/policy-group.entity';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { RolloutEngine } from '../rollout/rollout-engine.service';
import { AbmService } from './abm/abm.service';
import { AppleCheckinGuard } from './apple-checkin-guard.service';
import { AppleCommandsService, NEXT_COMMAND_SQL, nextCommandOf } from './apple-commands.service';
import { commands } from './apple-payloads';
import { AppleError } from './apple.error';
import { ApnsService } from './apns.service';
import { AppleIdentityRenewalService } from './identity-renewal/apple-identity-renewal.service';

type PlistObject = Record<string, unknown>;
const MDM: Actor = { id: null, label: 'system: Apple MDM check-in' };
/** How long last_seen_at may lag behind a poll (the writes of a second are one statement). */
const SEEN_FLUSH_MS = 1000;

/** The first problem the XML parser reports, or null when the document is well-formed. */
function xmlProblem(text: string): string | null {
  let problem: string | null = null;
  try {
    new DOMParser({
      // Warnings too (e.g. bytes that are not UTF-8): Apple devices send clean XML.
      onError: (_level, message) => {
        problem ??= message.split('\n')[0];
      },
    }).parseFromString(text, 'text/xml');
  } catch (e) {
    problem ??= (e as Error).message.split('\n')[0];
  }
  return problem;
}

export function parsePlistBody(body: Buffer | string | undefined): PlistObject {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : (body ?? '');
  if (!text.trim())
    throw new AppleError('empty-body', 'invalid', 'The request body is empty: a plist dictionary is expected.');
  // No DOCTYPE internal subset: entity expansion is refused outright.
  if (/<!ENTITY/i.test(text))
    throw new AppleError('malformed-plist', 'invalid', 'XML entities are not accepted in MDM messages.');
  // Nesting and number of elements bounded before any XML parser runs (each would spend seconds on a deep 1 MB body).
  const shape = plistShapeProblem(text);
  if (shape) throw new AppleError('malformed-plist', 'invalid', shape);
  // Well-formedness first, with our own error handler: plist.parse would let xmldom print every
  // problem of a malformed body to the console (a log flood any enrolled device could cause).
  const problem = xmlProblem(text);
  if (problem) throw new AppleError('malformed-plist', 'invalid', `The body is not a valid property list: ${problem}`);
  let value: unknown;
  try {
    value = plist.parse(text);
  } catch (e) {
    throw new AppleError(
      'malformed-plist',
      'invalid',
      `The body is not a valid property list: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new AppleError('malformed-plist', 'invalid', 'The property list must be a dictionary.');
  }
  // A NUL in a string (raw or &#0;) would fail the PostgreSQL query; no Apple message nests deeply.
  const hostile = hostileInputProblem(value, 'The property list');
  if (hostile) throw new AppleError('malformed-plist', 'invalid', hostile);
  return value as PlistObject;
}

function str(dict: PlistObject, key: string): string | undefined {
  const v = dict[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Apple's check-in (Authenticate, TokenUpdate, CheckOut) and command (Idle / Acknowledged / Error /
 * NotNow → next command) protocol. The caller has proven the device identity and passes its
 * certificate serial; a device can only speak for the UDID its identity is bound to.
 */
@Injectable()
export class MdmProtocolService implements OnModuleDestroy {
  private readonly logger = new Logger('MDM');
  private readonly heard = new Set<string>();
  private heardFlush?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: AppleCommandsService,
    private readonly groups: PolicyGroupService,
    private readonly engine: RolloutEngine,
    private readonly apns: ApnsService,
    private readonly audit: AuditService,
    private readonly devices: DeviceStateService,
    private readonly ade: AbmService,
    private readonly guard: AppleCheckinGuard,
    private readonly renewal: AppleIdentityRenewalService,
  ) {}

  /**
   * Binds the identity to the first UDID it speaks for; any other UDID afterwards is an impersonation.
   * A renewal identity (AppleIdentityRenewalService) speaks only for the phone of the identity it
   * renews: its Authenticate is accepted as it is (`renewing`: iOS is installing the profile, which
   * may still fail), any later message proves the profile installed and binds it in place of the old one.
   */
  private async bindUdid(
    serial: string,
    udid: string,
    type: string,
  ): Promise<{ enrollmentId: string; ministry: string; agentId: string | null; renewing: boolean }> {
    const [identity] = (await this.db.query(
      `SELECT i.udid, i.revoked_at, i.replaced_at, i.renews, (SELECT o.udid FROM apple_identity o WHERE o.serial = i.renews) AS renews_udid,
              e.id AS enrollment_id, e.ministry_code, e.agent_id
         FROM apple_identity i JOIN apple_enrollment e ON e.id = i.enrollment_id WHERE i.serial = $1`,
      [serial],
    )) as {
      udid: string | null;
      revoked_at: Date | null;
      replaced_at: Date | null;
      renews: string | null;
      renews_udid: string | null;
      enrollment_id: string;
      ministry_code: string;
      agent_id: string | null;
    }[];
    refuseIdentity(identity, udid);
    const binding = {
      enrollmentId: identity.enrollment_id,
      ministry: identity.ministry_code,
      agentId: identity.agent_id,
    };
    if (!identity.udid && identity.renews) {
      if (!identity.renews_udid)
        throw new AppleError(
          'identity-revoked',
          'forbidden',
          'The device identity this renewal replaces is no longer in use (the phone left, or enrolled again): enroll with a new link.',
        );
      if (identity.renews_udid !== udid)
        throw new AppleError(
          'udid-mismatch',
          'forbidden',
          'This renewed device identity belongs to another device (UDID mismatch).',
        );
      if (type === 'Authenticate') return { ...binding, renewing: true };
      await this.renewal.takeOver(serial, udid);
      return { ...binding, renewing: false };
    }
    if (!identity.udid) {
      // The first message of a new phone: its link must still be live and have a phone left to enroll.
      const claimed = await this.db.transaction(async (tx) => {
        const [link] = (await tx.query(
          `SELECT revoked_at, max_devices,
                  (SELECT count(*)::int FROM apple_identity i WHERE i.enrollment_id = e.id AND i.enrolled_at IS NOT NULL) AS enrolled
             FROM apple_enrollment e WHERE id = $1 FOR UPDATE`,
          [identity.enrollment_id],
        )) as { revoked_at: Date | null; max_devices: number; enrolled: number }[];
        if (link.revoked_at)
          throw new AppleError(
            'identity-revoked',
            'forbidden',
            'The enrollment link of this device identity was revoked: enroll with a new link.',
          );
        if (link.enrolled >= link.max_devices)
          throw new AppleError(
            'enrollment-used',
            'conflict',
            'The enrollment link of this device identity has already enrolled all its phones: enroll with a new link.',
          );
        // The phone enrolled before with another identity: it may come back once it left (CheckOut), not beside it.
        const [previous] = (await tx.query(
          `SELECT i.serial, EXISTS (SELECT 1 FROM device d WHERE d.apple_udid = $1 AND d.unenrolled_at IS NULL) AS enrolled
             FROM apple_identity i WHERE i.udid = $1 AND i.serial <> $2 FOR UPDATE OF i`,
          [udid, serial],
        )) as { serial: string; enrolled: boolean }[];
        if (previous?.enrolled)
          throw new AppleError(
            'udid-enrolled',
            'conflict',
            'This iPhone is enrolled already, with another identity: remove its management profile first, then enroll it again.',
          );
        if (previous)
          await tx.query(
            `UPDATE apple_identity SET udid = NULL, revoked_at = coalesce(revoked_at, now()) WHERE serial = $1`,
            [previous.serial],
          );
        return (await tx.query(
          `UPDATE apple_identity SET udid = $2, enrolled_at = now() WHERE serial = $1 AND udid IS NULL AND revoked_at IS NULL RETURNING serial`,
          [serial, udid],
        )) as [unknown[], number];
      });
      if (claimed[1] === 0) return this.bindUdid(serial, udid, type);
    }
    return { ...binding, renewing: false };
  }

  async checkin(serial: string, body: Buffer | string | undefined): Promise<string> {
    const message = parsePlistBody(body);
    const type = str(message, 'MessageType');
    const udid = str(message, 'UDID');
    if (!type) throw new AppleError('malformed-checkin', 'invalid', 'A check-in message needs a MessageType.');
    if (!udid) throw new AppleError('malformed-checkin', 'invalid', `${type}: the UDID is missing.`);
    // Before the identity claims its link: a Mac, or another server's push topic, is refused.
    await this.guard.check(type, message);
    const binding = await this.bindUdid(serial, udid, type);
    switch (type) {
      case 'Authenticate':
        // A renewal's Authenticate: the phone is the device it was, nothing to enroll.
        if (!binding.renewing) await this.authenticate(serial, udid, binding, message);
        break;
      case 'TokenUpdate':
        await this.tokenUpdate(udid, message);
        break;
      case 'CheckOut':
        await this.db.transaction(async (tx) => {
          for (const d of await this.devices.checkOut(tx, udid))
            await this.audit.record(tx, MDM, {
              action: 'device.checked-out',
              entityType: 'device',
              entityId: d.id,
              ministry: d.ministry_code,
              after: { udid },
            });
        });
        break;
      default:
        throw new AppleError('unsupported-checkin', 'invalid', `Unsupported check-in message "${type}".`);
    }
    // Automated Device Enrollment and Apps and Books: serial numbers, AwaitingConfiguration, licences of a phone that left.
    await this.ade.onCheckin(type, udid, message);
    return '';
  }

  private async authenticate(
    serial: string,
    udid: string,
    binding: { ministry: string; agentId: string | null },
    message: PlistObject,
  ): Promise<void> {
    const name = str(message, 'DeviceName') ?? str(message, 'ModelName') ?? 'iPhone';
    await this.db.transaction(async (tx) => {
      const [existing] = (await tx.query(`SELECT id FROM device WHERE apple_udid = $1`, [udid])) as { id: string }[];
      if (existing) {
        await this.devices.reenroll(tx, existing.id, {
          appleIdentitySerial: serial,
          model: str(message, 'ProductName') ?? null,
          osVersion: str(message, 'OSVersion') ?? null,
        });
        return;
      }
      const id = await this.devices.enroll(tx, {
        platform: 'ios',
        ownership: 'company',
        agentId: binding.agentId,
        ministry: binding.ministry,
        displayName: name,
        model: str(message, 'ProductName') ?? str(message, 'Model') ?? null,
        appleUdid: udid,
        appleIdentitySerial: serial,
        osVersion: str(message, 'OSVersion') ?? null,
      });
      await this.audit.record(tx, MDM, {
        action: 'device.enrolled',
        entityType: 'device',
        entityId: id,
        ministry: binding.ministry,
        after: { platform: 'ios', udid, agentId: binding.agentId, model: str(message, 'ProductName') ?? null },
      });
    });
  }

  private async tokenUpdate(udid: string, message: PlistObject): Promise<void> {
    const token = message.Token;
    const pushMagic = str(message, 'PushMagic');
    if (!Buffer.isBuffer(token) || !pushMagic)
      throw new AppleError('malformed-checkin', 'invalid', 'TokenUpdate needs Token (data) and PushMagic.');
    const firstTime = await this.db.transaction(async (tx) => {
      const device = await this.devices.updatePushToken(tx, udid, {
        token: token.toString('hex'),
        pushMagic,
        topic: str(message, 'Topic') ?? null,
      });
      if (!device) throw new AppleError('not-authenticated', 'conflict', 'TokenUpdate before Authenticate.');
      if (device.group_id) return null;
      // First token: the device is fully enrolled. Its policy (group) and its first inventory follow.
      await this.queue.enqueue(tx, device.id, commands.deviceInformation());
      await this.queue.enqueue(tx, device.id, commands.installedApplicationList());
      await this.queue.enqueue(tx, device.id, commands.managedApplicationList());
      await this.groups.regroup(tx, { deviceIds: [device.id] }, 'enrolled');
      return device.id;
    });
    if (firstTime) this.logger.log(`iPhone ${udid} enrolled`);
  }

  /** The command channel: record the answer to the previous command, hand out the next one (or nothing). */
  async server(serial: string, body: Buffer | string | undefined): Promise<string> {
    const message = parsePlistBody(body);
    const udid = str(message, 'UDID');
    const status = str(message, 'Status');
    if (!udid || !status)
      throw new AppleError('malformed-report', 'invalid', 'A command report needs UDID and Status.');
    if (!['Idle', 'Acknowledged', 'Error', 'CommandFormatError', 'NotNow'].includes(status))
      throw new AppleError('malformed-report', 'invalid', `Unknown Status "${status}".`);
    if (status === 'Idle') {
      const idle = await this.idle(serial, udid);
      if (idle !== undefined) return idle;
    }
    await this.bindUdid(serial, udid, 'command');
    const [device] = (await this.db.query(
      `SELECT id, group_id FROM device WHERE apple_udid = $1 AND ${fleetSql.reachable('device')}`,
      [udid],
    )) as { id: string; group_id: string | null }[];
    if (!device) throw new AppleError('not-enrolled', 'conflict', 'This device is not enrolled (check in first).');
    this.seen(device.id);
    const uuid = str(message, 'CommandUUID');
    if (status !== 'Idle') {
      if (!uuid)
        throw new AppleError('malformed-report', 'invalid', `Status ${status} needs the CommandUUID it answers.`);
      // Every command this server sends is named by a UUID: anything else answers none of them.
      if (!isUuid(uuid))
        throw new AppleError(
          'malformed-report',
          'invalid',
          `CommandUUID ${JSON.stringify(uuid.slice(0, 80))} is not a UUID, so it names no command of this server.`,
        );
      const answered = await this.queue.answer(
        device.id,
        uuid,
        status === 'CommandFormatError' ? 'Error' : (status as 'Acknowledged' | 'Error' | 'NotNow'),
        message,
      );
      // An identity renewal's InstallProfile (no policy hash): its answer decides which identity the phone keeps.
      const renewal =
        answered?.requestType === 'InstallProfile' && !answered.policyHash ? await this.renewal.ofCommand(uuid) : null;
      if (renewal?.identity && status === 'Acknowledged') await this.renewal.takeOver(renewal.identity, udid);
      else if (renewal && status !== 'NotNow') await this.renewal.refused(device.id, uuid, errorOf(message));
      else if (answered && status === 'Acknowledged')
        await this.onAcknowledged(device.id, device.group_id, answered, message);
      else if (answered && status !== 'NotNow' && answered.requestType === 'InstallProfile')
        await this.devices.recordPolicyErrors(device.id, [
          `the restrictions profile was refused (${errorOf(message)})`,
        ]);
      if (status === 'NotNow') return ''; // the device is busy: come back later, do not loop
    }
    const next = await this.queue.next(device.id);
    return next?.xml ?? '';
  }

  /**
   * An Idle poll, the most frequent message by far, in one statement: the identity's state (known,
   * not revoked, bound to this UDID), the device, and its next command handed out only if the
   * identity passed (the UPDATE's device id is null otherwise). Undefined when the identity speaks
   * for the first time (not bound yet): the general path binds it.
   */
  private async idle(serial: string, udid: string): Promise<string | undefined> {
    // A SELECT at the top (its CTE updates): TypeORM returns the rows themselves.
    const [row] = (await this.db.query(
      `WITH ident AS (
         SELECT udid, revoked_at, replaced_at FROM apple_identity WHERE serial = $1
       ), dev AS (
         SELECT d.id FROM device d, ident i
          WHERE d.apple_udid = $2 AND i.udid = $2 AND i.revoked_at IS NULL AND ${fleetSql.reachable('d')} LIMIT 1
       ), cmd AS (
         UPDATE apple_command SET status = 'sent', sent_at = now()
          WHERE uuid = (${NEXT_COMMAND_SQL('(SELECT id FROM dev)')})
          RETURNING uuid, command
       )
       SELECT i.udid, i.revoked_at, i.replaced_at, (SELECT id FROM dev) AS device_id, c.uuid, c.command
         FROM ident i LEFT JOIN cmd c ON true`,
      [serial, udid],
    )) as {
      udid: string | null;
      revoked_at: Date | null;
      replaced_at: Date | null;
      device_id: string | null;
      uuid: string | null;
      command: Buffer | null;
    }[];
    refuseIdentity(row, udid);
    if (!row.udid) return undefined;
    if (!row.device_id)
      throw new AppleError('not-enrolled', 'conflict', 'This device is not enrolled (check in first).');
    this.seen(row.device_id);
    return row.uuid && row.command ? nextCommandOf({ uuid: row.uuid, command: row.command }).xml : '';
  }

  /**
   * last_seen_at, written for every device heard in the last second in one statement rather than
   * once per poll (at 100,000 phones, the difference between one write a second and thousands).
   */
  private seen(deviceId: string): void {
    this.heard.add(deviceId);
    this.heardFlush ??= setTimeout(() => void this.flushSeen(), SEEN_FLUSH_MS);
  }

  private async flushSeen(): Promise<void> {
    this.heardFlush = undefined;
    // Sorted: two replicas flushing overlapping sets lock the rows in the same order (no deadlock).
    const ids = [...this.heard].sort();
    this.heard.clear();
    if (ids.length === 0) return;
    await this.devices
      .touchAll(ids)
      .catch((e: Error) => this.logger.warn(`last-seen of ${ids.length} iPhones not recorded: ${e.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.heardFlush);
    await this.flushSeen();
  }

  private async onAcknowledged(
    deviceId: string,
    groupId: string | null,
    command: { requestType: string; policyHash: string | null },
    message: PlistObject,
  ): Promise<void> {
    if (command.requestType === 'InstallProfile' && command.policyHash) {
      await this.engine.reportApplied(deviceId, command.policyHash);
      await this.devices.recordPolicyErrors(deviceId, []);
    } else if (command.requestType === 'InstallApplication') {
      // A required app is being installed: the managed apps' list tells when it is there (compliance sees it at once).
      await this.db.transaction(async (tx) => {
        const [queued] = (await tx.query(
          `SELECT 1 FROM apple_command WHERE device_id = $1 AND status = 'queued' AND request_type = 'ManagedApplicationList'`,
          [deviceId],
        )) as unknown[];
        if (!queued) await this.queue.enqueue(tx, deviceId, commands.managedApplicationList());
      });
    } else if (command.requestType === 'InstalledApplicationList' && Array.isArray(message.InstalledApplicationList)) {
      const apps: InstalledApp[] = (message.InstalledApplicationList as PlistObject[])
        .filter((a) => typeof a.Identifier === 'string')
        .map((a) => ({
          id: a.Identifier as string,
          version: typeof a.ShortVersion === 'string' ? a.ShortVersion : undefined,
          managed: a.IsManaged === true || undefined,
        }));
      await this.devices.recordInventory(deviceId, apps);
      await this.removeBanned(deviceId, groupId);
    } else if (
      command.requestType === 'ManagedApplicationList' &&
      message.ManagedApplicationList &&
      typeof message.ManagedApplicationList === 'object'
    ) {
      const list = message.ManagedApplicationList as Record<string, unknown>;
      const installed = Object.entries(list)
        .filter(([, v]) => typeof v === 'object' && v !== null && (v as PlistObject).Status === 'Managed')
        .map(([bundle]) => bundle);
      await this.devices.markManaged(deviceId, Object.keys(list), installed);
      await this.removeBanned(deviceId, groupId);
    } else if (
      command.requestType === 'DeviceInformation' &&
      message.QueryResponses &&
      typeof message.QueryResponses === 'object'
    ) {
      const q = message.QueryResponses as PlistObject;
      // No IsSupervised in the answer is no answer (not "unsupervised"): kept unknown, asked again later.
      if (typeof q.IsSupervised !== 'boolean')
        await this.db.transaction((tx) => this.guard.askSupervisionAgain(tx, deviceId));
      await this.devices.recordDeviceInformation(deviceId, {
        supervised: typeof q.IsSupervised === 'boolean' ? q.IsSupervised : null,
        model: typeof q.ProductName === 'string' ? q.ProductName : null,
        osVersion: typeof q.OSVersion === 'string' ? q.OSVersion : null,
      });
      await this.removeBanned(deviceId, groupId);
    }
  }

  /**
   * Compliance is the shared evaluator's (DeviceStateService, called above with each report). What
   * is Apple's own: a banned app that is a managed app is removed (RemoveApplication, then a push).
   */
  private async removeBanned(deviceId: string, groupId: string | null): Promise<void> {
    const [device] = (await this.db.query(`SELECT installed_apps, banned_apps FROM device WHERE id = $1`, [
      deviceId,
    ])) as { installed_apps: InstalledApp[]; banned_apps: string[] }[];
    const group = groupId ? await this.db.getRepository(PolicyGroup).findOneBy({ id: groupId }) : null;
    if (!group || !device || device.banned_apps.length === 0) return;
    const installed = new Map(device.installed_apps.map((a) => [a.id, a]));
    const removable = group.effective.apps
      .filter((a) => a.action === 'block' && device.banned_apps.includes(a.app))
      .flatMap((a) => a.ios.filter((b) => installed.get(b)?.managed));
    if (removable.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const bundle of removable) {
        const [pending] = (await tx.query(
          `SELECT 1 FROM apple_command WHERE device_id = $1 AND request_type = 'RemoveApplication' AND status IN ('queued', 'sent') AND convert_from(command, 'UTF8')::jsonb->>'Identifier' = $2`,
          [deviceId, bundle],
        )) as unknown[];
        if (!pending) await this.queue.enqueue(tx, deviceId, commands.removeApplication(bundle));
      }
    });
    await this.apns.wake(deviceId).catch((e: Error) => this.logger.warn(`push after removal queued: ${e.message}`));
  }

  /** Every day (and on enrollment): inventory and supervision state, to keep compliance current. */
  async queueInventoryRefresh(olderThanHours = 24, limit = 5000): Promise<number> {
    const due = (await this.db.query(
      `SELECT id FROM device WHERE platform = 'ios' AND ${fleetSql.reachable('device')} AND apns_token IS NOT NULL
          AND (inventory_at IS NULL OR inventory_at < now() - make_interval(hours => $1)) LIMIT $2`,
      [olderThanHours, limit],
    )) as { id: string }[];
    for (const { id } of due) {
      await this.db.transaction(async (tx) => {
        await this.queue.enqueue(tx, id, commands.installedApplicationList());
        await this.queue.enqueue(tx, id, commands.managedApplicationList());
        await this.queue.enqueue(tx, id, commands.deviceInformation());
      });
      await this.apns.wake(id).catch((e: Error) => this.logger.warn(`inventory push for ${id}: ${e.message}`));
    }
    return due.length;
  }
}

/** The refusals of an identity that is unknown, revoked or bound to another UDID (every message, every request). */
function refuseIdentity(
  identity: { udid: string | null; revoked_at: Date | null; replaced_at: Date | null } | undefined,
  udid: string,
): asserts identity is { udid: string | null; revoked_at: null; replaced_at: null } {
  if (!identity)
    throw new AppleError(
      'unknown-identity',
      'forbidden',
      'This device identity was not issued by an enrollment of this server.',
    );
  if (identity.replaced_at)
    throw new AppleError(
      'identity-revoked',
      'forbidden',
      `This device identity was replaced by a renewed one on ${identity.replaced_at.toISOString()}: the phone now signs with its new identity, the old one is no longer accepted.`,
    );
  if (identity.revoked_at)
    throw new AppleError(
      'identity-revoked',
      'forbidden',
      'This device identity was revoked (its enrollment link was downloaded again, or revoked): enroll with a new link.',
    );
  if (identity.udid && identity.udid !== udid)
    throw new AppleError(
      'udid-mismatch',
      'forbidden',
      'This device identity belongs to another device (UDID mismatch).',
    );
}

/** The first error Apple gives (ErrorChain), as a person reads it. */
function errorOf(message: PlistObject): string {
  const chain = Array.isArray(message.ErrorChain) ? (message.ErrorChain as PlistObject[]) : [];
  const first = chain[0];
  if (!first) return 'no detail given';
  const text = typeof first.LocalizedDescription === 'string' ? first.LocalizedDescription : undefined;
  const code = typeof first.ErrorCode === 'number' ? `error ${first.ErrorCode}` : undefined;
  return [text, code].filter(Boolean).join(', ') || 'no detail given';
}
