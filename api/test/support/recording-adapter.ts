import type { Platform } from '../../src/devices/device.entity';
import {
  DeviceReporter,
  DeviceTarget,
  GroupTarget,
  PlatformAdapter,
  PushError,
} from '../../src/rollout/platform-adapter';

export type Call =
  | { kind: 'publish'; platform: Platform; policyName: string; hash: string }
  | { kind: 'push'; platform: Platform; deviceId: string; policyName: string; hash: string };

/**
 * A platform for the rollout engine's tests: records every call, can fail on demand, and can
 * play the phones (apply what they are sent) so that convergence is observable.
 */
export class RecordingAdapter implements PlatformAdapter {
  readonly calls: Call[] = [];
  readonly sharedPolicies: boolean;
  reporter?: DeviceReporter;
  /** Phones apply what they receive. */
  autoApply = false;
  /** Devices that report something else than what they were sent (a broken phone). */
  readonly broken = new Set<string>();
  /** The next n calls throw (a crash or an outage of the platform). */
  failNext = 0;
  failRetryable = true;
  /** Called before each push (e.g. to crash the process in the middle of a job). */
  beforePush?: (deviceId: string) => void;

  constructor(readonly platform: Platform) {
    this.sharedPolicies = platform === 'android';
  }

  attach(reporter: DeviceReporter): void {
    this.reporter = reporter;
  }

  async publishGroup(group: GroupTarget): Promise<void> {
    this.maybeFail();
    this.calls.push({ kind: 'publish', platform: this.platform, policyName: group.policyName, hash: group.hash });
    if (this.autoApply) await this.reporter?.reportPolicyApplied(group.policyName, group.hash);
  }

  async pushDevice(device: DeviceTarget): Promise<void> {
    this.beforePush?.(device.deviceId);
    this.maybeFail();
    this.calls.push({
      kind: 'push',
      platform: this.platform,
      deviceId: device.deviceId,
      policyName: device.policyName,
      hash: device.hash,
    });
    if (this.autoApply)
      await this.reporter?.reportApplied(
        device.deviceId,
        this.broken.has(device.deviceId) ? 'broken-phone' : device.hash,
        this.broken.has(device.deviceId) ? 'the phone reports an error' : undefined,
      );
  }

  pushes(): Extract<Call, { kind: 'push' }>[] {
    return this.calls.filter((c): c is Extract<Call, { kind: 'push' }> => c.kind === 'push');
  }

  publishes(): Extract<Call, { kind: 'publish' }>[] {
    return this.calls.filter((c): c is Extract<Call, { kind: 'publish' }> => c.kind === 'publish');
  }

  reset(): void {
    this.calls.length = 0;
  }

  private maybeFail(): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new PushError(`${this.platform} platform unavailable (injected)`, this.failRetryable);
    }
  }
}
