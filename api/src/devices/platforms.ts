/** The platforms a phone can be managed through; every per-platform loop goes over this one list. */
export const PLATFORMS = ['android', 'ios'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface PlatformTraits {
  label: string;
  /** One platform policy shared by the devices of a group (Android), or one profile per device (Apple). */
  sharedPolicies: boolean;
  /** Oldest OS major version on which the policy can be enforced. */
  minimumOsMajor: number;
}

/** What the rest of the service needs to know about a platform without importing its module. */
export const PLATFORM_TRAITS: Record<Platform, PlatformTraits> = {
  /**
   * One AMAPI policy per group, devices attached to it. Android 11 is the first with a work profile
   * on a company-owned phone (personalUsagePolicies), and older versions get no security updates.
   */
  android: { label: 'Android Enterprise', sharedPolicies: true, minimumOsMajor: 11 },
  /** No shared policy object: one profile per device. Blocking by bundle ID needs iOS 15 (blockedAppBundleIDs). */
  ios: { label: 'Apple MDM', sharedPolicies: false, minimumOsMajor: 15 },
};

/** Whether an OS version ("14", "17.5.1") is too old to enforce the policy; false when unknown. */
export function osTooOld(platform: Platform, version: string | null): boolean {
  const major = version ? Number.parseInt(version, 10) : Number.NaN;
  return Number.isFinite(major) && major < PLATFORM_TRAITS[platform].minimumOsMajor;
}
