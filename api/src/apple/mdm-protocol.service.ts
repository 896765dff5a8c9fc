import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DOMParser } from '@xmldom/xmldom';
import plist from 'plist';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { hostileInputProblem } from '../common/input.pipe';
import { InstalledApp } from '../devices/device.entity';
import { PolicyGroup } from '../rollout/policy-group.entity';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { RolloutEngine } from '../rollout/rollout-engine.service';
import { AppleCommandsService } from './apple-commands.service';
import { commands } from './apple-payloads';
import { AppleError } from './apple.error';
import { ApnsService } from './apns.service';

type PlistObject = Record<string, unknown>;
const MDM: Actor = { id: null, label: 'system: Apple MDM check-in' };

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
export class MdmProtocolService {
  private readonly logger = new Logger('MDM');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: AppleCommandsService,
    private readonly groups: PolicyGroupService,
    private readonly engine: RolloutEngine,
    private readonly apns: ApnsService,
    private readonly audit: AuditService,
  ) {}

  /** Binds the identity to the first UDID it speaks for; any other UDID afterwards is an impersonation. */
  private async bindUdid(
    serial: string,
    udid: string,
  ): Promise<{ enrollmentId: string; ministry: string; agentId: string | null }> {
    const [identity] = (await this.db.query(
      `SELECT i.udid, e.id AS enrollment_id, e.ministry_code, e.agent_id FROM apple_identity i JOIN apple_enrollment e ON e.id = i.enrollment_id WHERE i.serial = $1`,
      [serial],
    )) as { udid: string | null; enrollment_id: string; ministry_code: string; agent_id: string | null }[];
    if (!identity)
      throw new AppleError(
        'unknown-identity',
        'forbidden',
        'This device identity was not issued by an enrollment of this server.',
      );
    if (identity.udid && identity.udid !== udid)
      throw new AppleError(
        'udid-mismatch',
        'forbidden',
        'This device identity belongs to another device (UDID mismatch).',
      );
    if (!identity.udid) {
      const claimed = (await this.db.query(
        `UPDATE apple_identity SET udid = $2 WHERE serial = $1 AND udid IS NULL RETURNING serial`,
        [serial, udid],
      )) as [unknown[], number];
      if (claimed[1] === 0) return this.bindUdid(serial, udid);
    }
    return { enrollmentId: identity.enrollment_id, ministry: identity.ministry_code, agentId: identity.agent_id };
  }

  async checkin(serial: string, body: Buffer | string | undefined): Promise<string> {
    const message = parsePlistBody(body);
    const type = str(message, 'MessageType');
    const udid = str(message, 'UDID');
    if (!type) throw new AppleError('malformed-checkin', 'invalid', 'A check-in message needs a MessageType.');
    if (!udid) throw new AppleError('malformed-checkin', 'invalid', `${type}: the UDID is missing.`);
    const binding = await this.bindUdid(serial, udid);
    switch (type) {
      case 'Authenticate':
        await this.authenticate(serial, udid, binding, message);
        return '';
      case 'TokenUpdate':
        await this.tokenUpdate(udid, message);
        return '';
      case 'CheckOut':
        await this.db.transaction(async (tx) => {
          const rows = (await tx.query(
            `UPDATE device SET unenrolled_at = now() WHERE apple_udid = $1 AND unenrolled_at IS NULL RETURNING id, ministry_code`,
            [udid],
          )) as [{ id: string; ministry_code: string }[], number];
          for (const d of rows[0])
            await this.audit.record(tx, MDM, {
              action: 'device.checked-out',
              entityType: 'device',
              entityId: d.id,
              ministry: d.ministry_code,
              after: { udid },
            });
        });
        return '';
      default:
        throw new AppleError('unsupported-checkin', 'invalid', `Unsupported check-in message "${type}".`);
    }
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
        await tx.query(
          `UPDATE device SET unenrolled_at = NULL, apple_identity_serial = $2, last_seen_at = now(), model = coalesce($3, model) WHERE id = $1`,
          [existing.id, serial, str(message, 'ProductName') ?? null],
        );
        return;
      }
      const [{ id }] = (await tx.query(
        `INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, model, apple_udid, apple_identity_serial, last_seen_at)
         VALUES ('ios', 'company', $1, $2, $3, $4, $5, $6, now()) RETURNING id`,
        [
          binding.agentId,
          binding.ministry,
          name,
          str(message, 'ProductName') ?? str(message, 'Model') ?? null,
          udid,
          serial,
        ],
      )) as { id: string }[];
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
      const rows = (await tx.query(
        `UPDATE device SET apns_token = $2, push_magic = $3, apns_topic = $4, apns_dead_at = NULL, last_seen_at = now() WHERE apple_udid = $1 RETURNING id, group_id`,
        [udid, token.toString('hex'), pushMagic, str(message, 'Topic') ?? null],
      )) as [{ id: string; group_id: string | null }[], number];
      const device = rows[0][0];
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
    await this.bindUdid(serial, udid);
    const [device] = (await this.db.query(
      `SELECT id, group_id FROM device WHERE apple_udid = $1 AND unenrolled_at IS NULL`,
      [udid],
    )) as { id: string; group_id: string | null }[];
    if (!device) throw new AppleError('not-enrolled', 'conflict', 'This device is not enrolled (check in first).');
    await this.db.query(`UPDATE device SET last_seen_at = now() WHERE id = $1`, [device.id]);
    const uuid = str(message, 'CommandUUID');
    if (status !== 'Idle') {
      if (!uuid)
        throw new AppleError('malformed-report', 'invalid', `Status ${status} needs the CommandUUID it answers.`);
      const answered = await this.queue.answer(
        device.id,
        uuid,
        status === 'CommandFormatError' ? 'Error' : (status as 'Acknowledged' | 'Error' | 'NotNow'),
        message,
      );
      if (answered && status === 'Acknowledged')
        await this.onAcknowledged(device.id, device.group_id, answered, message);
      if (status === 'NotNow') return ''; // the device is busy: come back later, do not loop
    }
    const next = await this.queue.next(device.id);
    return next?.xml ?? '';
  }

  private async onAcknowledged(
    deviceId: string,
    groupId: string | null,
    command: { requestType: string; policyHash: string | null },
    message: PlistObject,
  ): Promise<void> {
    if (command.requestType === 'InstallProfile' && command.policyHash) {
      await this.engine.reportApplied(deviceId, command.policyHash);
    } else if (command.requestType === 'InstalledApplicationList' && Array.isArray(message.InstalledApplicationList)) {
      const apps: InstalledApp[] = (message.InstalledApplicationList as PlistObject[])
        .filter((a) => typeof a.Identifier === 'string')
        .map((a) => ({
          id: a.Identifier as string,
          version: typeof a.ShortVersion === 'string' ? a.ShortVersion : undefined,
          managed: a.IsManaged === true || undefined,
        }));
      await this.db.query(`UPDATE device SET installed_apps = $2, inventory_at = now() WHERE id = $1`, [
        deviceId,
        JSON.stringify(apps),
      ]);
      await this.evaluate(deviceId, groupId);
    } else if (
      command.requestType === 'ManagedApplicationList' &&
      message.ManagedApplicationList &&
      typeof message.ManagedApplicationList === 'object'
    ) {
      const managed = new Set(Object.keys(message.ManagedApplicationList as PlistObject));
      await this.db.query(
        `UPDATE device SET installed_apps = (SELECT coalesce(jsonb_agg(CASE WHEN a->>'id' = ANY($2) THEN a || '{"managed": true}' ELSE a END), '[]') FROM jsonb_array_elements(installed_apps) a) WHERE id = $1`,
        [deviceId, [...managed]],
      );
      await this.evaluate(deviceId, groupId);
    } else if (
      command.requestType === 'DeviceInformation' &&
      message.QueryResponses &&
      typeof message.QueryResponses === 'object'
    ) {
      const q = message.QueryResponses as PlistObject;
      await this.db.query(`UPDATE device SET supervised = $2, model = coalesce($3, model) WHERE id = $1`, [
        deviceId,
        q.IsSupervised === true,
        typeof q.ProductName === 'string' ? q.ProductName : null,
      ]);
      await this.evaluate(deviceId, groupId);
    }
  }

  /**
   * Compliance: a banned app still installed, or a device that is not supervised (blocking by
   * bundle ID then cannot be enforced), is non-compliant with the reason. A banned app that is a
   * managed app is removed (RemoveApplication, then a push).
   */
  private async evaluate(deviceId: string, groupId: string | null): Promise<void> {
    const [device] = (await this.db.query(`SELECT installed_apps, supervised, inventory_at FROM device WHERE id = $1`, [
      deviceId,
    ])) as { installed_apps: InstalledApp[]; supervised: boolean | null; inventory_at: Date | null }[];
    const group = groupId ? await this.db.getRepository(PolicyGroup).findOneBy({ id: groupId }) : null;
    if (!group || !device) return;
    const installed = new Map(device.installed_apps.map((a) => [a.id, a]));
    const banned = group.effective.apps.filter((a) => a.action === 'block' && a.ios.some((b) => installed.has(b)));
    const reasons: string[] = [];
    if (device.supervised === false) reasons.push('not supervised: apps cannot be blocked by bundle ID on this iPhone');
    for (const app of banned)
      reasons.push(`banned app still installed: ${app.name} (${app.ios.filter((b) => installed.has(b)).join(', ')})`);
    const removable = banned.flatMap((a) => a.ios.filter((b) => installed.get(b)?.managed));
    const state =
      reasons.length > 0
        ? 'non-compliant'
        : device.inventory_at && device.supervised !== null
          ? 'compliant'
          : 'unknown';
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE device SET compliance = $2, compliance_reason = $3 WHERE id = $1`, [
        deviceId,
        state,
        reasons.join('; ') || null,
      ]);
      for (const bundle of removable) {
        const [pending] = (await tx.query(
          `SELECT 1 FROM apple_command WHERE device_id = $1 AND request_type = 'RemoveApplication' AND status IN ('queued', 'sent') AND convert_from(command, 'UTF8')::jsonb->>'Identifier' = $2`,
          [deviceId, bundle],
        )) as unknown[];
        if (!pending) await this.queue.enqueue(tx, deviceId, commands.removeApplication(bundle));
      }
    });
    if (removable.length > 0)
      await this.apns.wake(deviceId).catch((e: Error) => this.logger.warn(`push after removal queued: ${e.message}`));
  }

  /** Every day (and on enrollment): inventory and supervision state, to keep compliance current. */
  async queueInventoryRefresh(olderThanHours = 24, limit = 5000): Promise<number> {
    const due = (await this.db.query(
      `SELECT id FROM device WHERE platform = 'ios' AND unenrolled_at IS NULL AND apns_token IS NOT NULL
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
