import type { Ownership } from '../devices/device.entity';
import type { DeviceReport } from '../devices/device-state.service';
import { Platform, PLATFORM_TRAITS } from '../devices/platforms';
import type { EffectivePolicy } from '../policies/effective-policy.resolver';

/** During a staged rollout, released devices of a shared-policy platform use the group's canary policy. */
export type PolicyVariant = 'stable' | 'canary';

export interface GroupTarget {
  groupId: string;
  ministry: string;
  /** The platform policy name: the group id, with `.canary` for the canary variant. */
  policyName: string;
  variant: PolicyVariant;
  hash: string;
  effective: EffectivePolicy;
}

/** A device to push to; the adapter finds the device's identity on its platform from `deviceId`. */
export interface DeviceTarget {
  deviceId: string;
  ministry: string;
  ownership: Ownership;
  groupId: string;
  policyName: string;
  hash: string;
  effective: EffectivePolicy;
}

/**
 * What a platform reports back: the device applied `hash` (or the policy named `policyName`), and
 * what is on it (a simulated phone's inventory; real platforms report through their own module).
 */
export interface DeviceReporter {
  reportApplied(deviceId: string, appliedHash: string, detail?: string): Promise<void>;
  reportPolicyApplied(policyName: string, appliedHash: string): Promise<number>;
  reportInventory(deviceId: string, report: DeviceReport): Promise<void>;
}

/**
 * How a platform receives policies. Android shares one policy per group: `publishGroup` once per
 * group and `pushDevice` only attaches a device to a policy. Apple has no shared policy:
 * `pushDevice` sends each device its own profile and commands.
 */
export interface PlatformAdapter {
  readonly platform: Platform;
  readonly sharedPolicies: boolean;
  publishGroup(group: GroupTarget): Promise<void>;
  pushDevice(device: DeviceTarget): Promise<void>;
  /** Lets a platform (or a simulator) report what devices applied. */
  attach?(reporter: DeviceReporter): void;
}

/** A push that did not go through; `retryable` false means retrying cannot help (configuration). */
export class PushError extends Error {
  constructor(
    message: string,
    readonly retryable = true,
  ) {
    super(message);
  }
}

export function policyName(groupId: string, variant: PolicyVariant): string {
  return variant === 'canary' ? `${groupId}.canary` : groupId;
}

/** The platform used when a platform is not configured: every push fails, with the reason shown. */
export class UnconfiguredPlatformAdapter implements PlatformAdapter {
  readonly sharedPolicies: boolean;
  constructor(readonly platform: Platform) {
    this.sharedPolicies = PLATFORM_TRAITS[platform].sharedPolicies;
  }
  async publishGroup(): Promise<void> {
    throw new PushError(`${PLATFORM_TRAITS[this.platform].label} is not configured on this server`, false);
  }
  async pushDevice(): Promise<void> {
    throw new PushError(`${PLATFORM_TRAITS[this.platform].label} is not configured on this server`, false);
  }
}
