import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AmapiClientService } from '../android/amapi-client.service';
import { ApnsService } from '../apple/apns.service';
import { AppleCommandsService } from '../apple/apple-commands.service';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { isUuid } from '../common/uuid';
import { PushError } from '../rollout/platform-adapter';
import type { PlistDict } from '../apple/apple-payloads';
import { Device, Ownership } from './device.entity';
import { DeviceStateService } from './device-state.service';
import { DevicesError } from './devices.error';

/** What retiring did to the phone: all its data, the work side only, or nothing reachable. */
export type Wipe = 'full' | 'work-profile' | 'none';

export interface RetireResult {
  deviceId: string;
  wipe: Wipe;
  /** Android: the wipe flags sent with devices.delete. */
  wipeDataFlags: string[];
}

export interface LockResult {
  deviceId: string;
  /** Android: the operation of the LOCK command; Apple: the queued DeviceLock command. */
  command: string;
}

/**
 * Company phones are wiped in full, external storage (SD card) included. Factory reset protection
 * is not preserved: the phone goes back to IT for another agent, not to the Google account of the
 * one who left.
 */
export const COMPANY_WIPE_FLAGS = ['WIPE_EXTERNAL_STORAGE'];

/** The identifier of the Apple enrollment profile (apple-enrollment.service.ts): removing it ends management. */
const APPLE_ENROLLMENT_PROFILE = 'fr.gouv.numerique.mdm-apps.enrollment';

/** Apple: a company iPhone is erased; a personal one loses its enrollment profile, hence the managed apps and data. */
export function appleRetireCommand(ownership: Ownership): PlistDict {
  return ownership === 'company'
    ? { RequestType: 'EraseDevice' }
    : { RequestType: 'RemoveProfile', Identifier: APPLE_ENROLLMENT_PROFILE };
}

export const APPLE_LOCK_COMMAND: PlistDict = { RequestType: 'DeviceLock' };

/** AMAPI's limit for wipeReasonMessage. */
const MAX_WIPE_MESSAGE = 200;

/**
 * What IT does to a phone beyond policies: retire it when its agent leaves, lock it when it is
 * lost. The platform is told first; the device row and the audit event follow in one transaction,
 * so a retry after a failure finds the phone already gone on Google's side (404) and completes.
 * The platform modules are optional (a server may run without Android or Apple): looked up at call time.
 */
@Injectable()
export class DeviceLifecycleService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly state: DeviceStateService,
    private readonly modules: ModuleRef,
  ) {}

  /**
   * Android: `devices.delete`. A company-owned phone is wiped (COMPANY_WIPE_FLAGS); on a personally
   * owned one Google removes the work profile only, with its apps and data, and the agent sees
   * `reason` — their personal data stays. Apple: EraseDevice for a company phone; on a personal one
   * the enrollment profile is removed, which takes the managed apps and their data with it.
   */
  async retire(principal: Principal, id: string, reason: string): Promise<RetireResult> {
    const device = await this.find(principal, id);
    const company = device.ownership === 'company';
    let wipe: Wipe = company ? 'full' : 'work-profile';
    let wipeDataFlags: string[] = [];
    // Apple: the command is queued with the retirement, in its transaction.
    let appleCommand: ((tx: EntityManager) => Promise<string>) | null = null;
    if (device.platform === 'android' && device.androidDeviceName) {
      wipeDataFlags = company ? COMPANY_WIPE_FLAGS : [];
      const name = device.androidDeviceName;
      const message = reason.slice(0, MAX_WIPE_MESSAGE);
      await this.platformCall(() =>
        this.amapi().call('devices.delete', async (api, options) => {
          try {
            return await api.enterprises.devices.delete(
              { name, wipeReasonMessage: message, ...(wipeDataFlags.length ? { wipeDataFlags } : {}) },
              options,
            );
          } catch (e) {
            // Already deleted on Google's side (a retry, or wiped by hand): the phone is gone, as wanted.
            if (statusOf(e) === 404) return { data: {} };
            throw e;
          }
        }),
      );
    } else if (device.platform === 'ios' && device.appleUdid) {
      const commands = this.apple();
      appleCommand = (tx) => commands.enqueue(tx, device.id, appleRetireCommand(device.ownership));
    } else {
      // No platform identity (a simulated or imported phone): nothing to reach, only our record.
      wipe = 'none';
    }
    await this.db.transaction(async (tx) => {
      if (!(await this.state.retire(tx, device.id)))
        throw new DevicesError('already-retired', 'conflict', 'This device was already retired.');
      if (appleCommand) await appleCommand(tx);
      await this.audit.record(tx, actorOf(principal), {
        action: 'device.retired',
        entityType: 'device',
        entityId: device.id,
        ministry: device.ministryCode,
        before: { agentId: device.agentId, ownership: device.ownership, platform: device.platform },
        after: { reason, wipe, wipeDataFlags },
      });
    });
    if (appleCommand) await this.wake(device.id);
    return { deviceId: device.id, wipe, wipeDataFlags };
  }

  /** Locks the screen now (Android LOCK command; Apple DeviceLock, delivered at the phone's next contact). */
  async lock(principal: Principal, id: string): Promise<LockResult> {
    const device = await this.find(principal, id);
    let command: string;
    if (device.platform === 'android' && device.androidDeviceName) {
      const name = device.androidDeviceName;
      const operation = await this.platformCall(() =>
        this.amapi().call('devices.issueCommand', (api, options) =>
          api.enterprises.devices.issueCommand({ name, requestBody: { type: 'LOCK' } }, options),
        ),
      );
      command = operation.name ?? `${name}/operations/unknown`;
      await this.db.transaction((tx) => this.recordLock(tx, principal, device, command));
    } else if (device.platform === 'ios' && device.appleUdid) {
      const commands = this.apple();
      command = await this.db.transaction(async (tx) => {
        const uuid = await commands.enqueue(tx, device.id, { ...APPLE_LOCK_COMMAND });
        await this.recordLock(tx, principal, device, uuid);
        return uuid;
      });
      await this.wake(device.id);
    } else {
      throw new DevicesError(
        'not-managed',
        'conflict',
        'This device is not enrolled through a platform that can lock it.',
      );
    }
    return { deviceId: device.id, command };
  }

  private async recordLock(tx: EntityManager, principal: Principal, device: Device, command: string): Promise<void> {
    await this.audit.record(tx, actorOf(principal), {
      action: 'device.locked',
      entityType: 'device',
      entityId: device.id,
      ministry: device.ministryCode,
      after: { platform: device.platform, command },
    });
  }

  /** 404 for an unknown device (before any permission check says whether it exists), 403, 409 when retired. */
  private async find(principal: Principal, id: string): Promise<Device> {
    const device = isUuid(id) ? await this.db.getRepository(Device).findOneBy({ id }) : null;
    if (!device) throw new DevicesError('not-found', 'not-found', `No device with id "${id}".`);
    this.access.requireAccess(principal, 'device.manage', device.ministryCode);
    if (device.unenrolledAt)
      throw new DevicesError(
        'already-retired',
        'conflict',
        `This device left the fleet on ${device.unenrolledAt.toISOString()} (retired or unenrolled).`,
      );
    return device;
  }

  private amapi(): AmapiClientService {
    const amapi = this.optional(AmapiClientService);
    if (!amapi)
      throw new DevicesError('not-managed', 'conflict', 'Android Enterprise is not configured on this server.');
    return amapi;
  }

  private apple(): AppleCommandsService {
    const commands = this.optional(AppleCommandsService);
    if (!commands) throw new DevicesError('not-managed', 'conflict', 'Apple MDM is not configured on this server.');
    return commands;
  }

  /** The command waits in the queue; the wake-up only makes the phone ask for it sooner. */
  private async wake(deviceId: string): Promise<void> {
    try {
      await this.optional(ApnsService)?.wake(deviceId);
    } catch (e) {
      if (!(e instanceof PushError)) throw e;
    }
  }

  /** A Google refusal becomes a 409 with Google's reason; an outage a 503. */
  private async platformCall<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof PushError)
        throw e.retryable
          ? new DevicesError('platform-unavailable', 'unavailable', e.message)
          : new DevicesError('platform-refused', 'conflict', e.message);
      throw e;
    }
  }

  private optional<T>(type: new (...args: never[]) => T): T | null {
    try {
      return this.modules.get(type, { strict: false });
    } catch {
      return null;
    }
  }
}

function statusOf(e: unknown): number | undefined {
  const error = e as { status?: unknown; response?: { status?: number } };
  return error.response?.status ?? (typeof error.status === 'number' ? error.status : undefined);
}
