import { Logger } from '@nestjs/common';
import { Platform, PLATFORM_TRAITS } from '../devices/platforms';
import { DeviceReporter, DeviceTarget, GroupTarget, PlatformAdapter } from './platform-adapter';

/**
 * For demonstrations only (`DEVICE_SIMULATOR=true`, the default of `npm start` without a
 * configured platform): phones that apply what they are sent after a short random delay, so that
 * rollouts visibly converge. It never talks to Google or Apple.
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
    this.later(() => this.reporter?.reportApplied(device.deviceId, device.hash) ?? Promise.resolve());
  }

  private later(report: () => Promise<unknown>): void {
    const timer = setTimeout(
      () => void report().catch((e: Error) => this.logger.warn(e.message)),
      Math.round(this.delayMs * (0.5 + Math.random())),
    );
    timer.unref();
  }
}
