import { Logger } from '@nestjs/common';
import { Platform, PLATFORM_TRAITS } from '../devices/platforms';
import { DeviceReporter, DeviceTarget, GroupTarget, PlatformAdapter } from './platform-adapter';

/** What simulated phones run. */
const SIMULATED_OS: Record<Platform, string> = { android: '15', ios: '18.1' };

/**
 * For demonstrations only (`DEVICE_SIMULATOR=true`, the default of `npm start` without a
 * configured platform): phones that apply what they are sent after a short random delay, so that
 * rollouts visibly converge, then report their inventory (so that their compliance goes from
 * unknown to compliant). It never talks to Google or Apple.
 */
export class SimulatedFleetAdapter implements PlatformAdapter {
  private readonly logger = new Logger('SimulatedFleet');
  private reporter?: DeviceReporter;
  readonly sharedPolicies: boolean;

  constructor(
    readonly platform: Platform,
    private readonly delayMs = 3000,
  ) {
    this.sharedPolicies = PLATFORM_TRAITS[platform].sharedPolicies;
  }

  attach(reporter: DeviceReporter): void {
    this.reporter = reporter;
  }

  async publishGroup(group: GroupTarget): Promise<void> {
    this.later(async () => {
      const n = (await this.reporter?.reportPolicyApplied(group.policyName, group.hash)) ?? 0;
      if (n > 0) this.logger.debug(`${n} simulated ${this.platform} device(s) applied ${group.policyName}`);
    });
  }

  async pushDevice(device: DeviceTarget): Promise<void> {
    this.later(async () => {
      await this.reporter?.reportApplied(device.deviceId, device.hash);
      // Then its inventory, as a real phone reports it: the required apps the policy installed, no banned one.
      const required = device.effective.apps.filter((a) => a.action === 'require' && a[this.platform].length > 0);
      await this.reporter?.reportInventory(device.deviceId, {
        installed: required.map((a) => ({ id: a[this.platform][0], managed: true })),
        osVersion: SIMULATED_OS[this.platform],
        supervised: true,
        policyErrors: [],
      });
    });
  }

  private later(report: () => Promise<unknown>): void {
    const timer = setTimeout(
      () => void report().catch((e: Error) => this.logger.warn(e.message)),
      Math.round(this.delayMs * (0.5 + Math.random())),
    );
    timer.unref();
  }
}
