import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { InstalledApp } from '../devices/device.entity';
import { DeviceTarget, GroupTarget, PlatformAdapter, PushError } from '../rollout/platform-adapter';
import { PlatformRegistry } from '../rollout/platform-registry';
import { AppleCommandsService } from './apple-commands.service';
import { commands, policyProfile } from './apple-payloads';
import { ApnsService } from './apns.service';

/**
 * Whether the phone has the policy profile of `hash` on its way (queued, handed out, postponed):
 * queuing it again would only install the same profile twice.
 */
export async function policyProfilePending(tx: EntityManager, deviceId: string, hash: string): Promise<boolean> {
  const [row] = (await tx.query(
    `SELECT 1 FROM apple_command WHERE device_id = $1 AND request_type = 'InstallProfile' AND policy_hash = $2
        AND status IN ('queued', 'sent', 'not-now') LIMIT 1`,
    [deviceId, hash],
  )) as unknown[];
  return row !== undefined;
}

/**
 * Apple has no shared policy: each iPhone gets its own InstallProfile (Restrictions + web clips),
 * InstallApplication for required apps it lacks, RemoveApplication for banned apps it has as
 * managed apps, then one APNs push to make it check in.
 */
@Injectable()
export class AppleAdapter implements PlatformAdapter, OnModuleInit {
  readonly platform = 'ios' as const;
  readonly sharedPolicies = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: AppleCommandsService,
    private readonly apns: ApnsService,
    private readonly registry: PlatformRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async publishGroup(_group: GroupTarget): Promise<void> {
    // Nothing shared to publish on Apple devices.
  }

  async pushDevice(device: DeviceTarget): Promise<void> {
    const [row] = (await this.db.query(`SELECT apple_udid, installed_apps FROM device WHERE id = $1`, [
      device.deviceId,
    ])) as { apple_udid: string | null; installed_apps: InstalledApp[] }[];
    if (!row?.apple_udid) throw new PushError('this iPhone has not checked in with this MDM server (no UDID)', false);
    const installed = new Map((row?.installed_apps ?? []).map((a) => [a.id, a]));
    await this.db.transaction(async (tx) => {
      if (!(await policyProfilePending(tx, device.deviceId, device.hash))) {
        await this.queue.cancelPending(tx, device.deviceId, 'InstallProfile');
        await this.queue.enqueue(
          tx,
          device.deviceId,
          commands.installProfile(policyProfile(device.effective)),
          device.hash,
        );
      }
      for (const app of device.effective.apps) {
        if (app.action === 'require' && app.ios.length > 0 && !app.ios.some((b) => installed.has(b))) {
          await this.queue.enqueue(tx, device.deviceId, commands.installApplication(app.ios[0]));
        }
        if (app.action === 'block') {
          for (const bundle of app.ios.filter((b) => installed.get(b)?.managed))
            await this.queue.enqueue(tx, device.deviceId, commands.removeApplication(bundle));
        }
      }
    });
    await this.apns.wake(device.deviceId);
  }
}
