/** The platforms a phone can be managed through; every per-platform loop goes over this one list. */
export const PLATFORMS = ['android', 'ios'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** What the rest of the service needs to know about a platform without importing its module. */
export const PLATFORM_TRAITS: Record<Platform, { label: string; sharedPolicies: boolean }> = {
  /** One AMAPI policy per group, devices attached to it. */
  android: { label: 'Android Enterprise', sharedPolicies: true },
  /** No shared policy object: one profile per device. */
  ios: { label: 'Apple MDM', sharedPolicies: false },
};
