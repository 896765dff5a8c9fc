/** The policy-as-code vocabulary shared by the YAML files, the database and the API. */

export const NATIONAL_SCOPE = 'national';

/** The ministry a scope belongs to: null for the national baseline. */
export function scopeMinistry(scope: string): string | null {
  return scope === NATIONAL_SCOPE ? null : scope;
}

export const RULE_ACTIONS = ['block', 'allow', 'require'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

export const POLICY_MODES = ['blocklist', 'allowlist'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

export const APP_CATEGORIES = [
  'recreational-social',
  'recreational-streaming',
  'recreational-game',
  'recreational-dating',
  'foreign-videoconference',
  'foreign-messaging',
  'sovereign',
  'productivity',
  'security',
] as const;
export type AppCategory = (typeof APP_CATEGORIES)[number];

export const MAX_EXEMPTION_DAYS_LIMIT = 730;

export interface PolicyRule {
  app: string;
  action: RuleAction;
  exemptable: boolean;
  /** Required when exemptable; the longest exemption an approver may grant. */
  maxExemptionDays?: number;
  legalBasis?: string;
}

/**
 * In allowlist mode, what the personal side of a company-owned phone with a work profile may
 * install: the same allow-list (`allowlist`, the default), or nothing because the ministry
 * disallows personal use of its phones (`disallowed`: its tokens enroll fully managed phones only).
 * A personally owned phone is another matter: the policy reaches its work profile only.
 */
export const PERSONAL_SIDES = ['allowlist', 'disallowed'] as const;
export type PersonalSide = (typeof PERSONAL_SIDES)[number];

export interface PolicyContent {
  mode: PolicyMode;
  /** Allowlist mode only (default `allowlist`); a blocklist blocks the same apps on the personal side. */
  personalSide?: PersonalSide;
  description?: string;
  /**
   * Oldest iOS version ("16", "17.4") the scope's iPhones may run: an older one is non-compliant.
   * The stricter of the national and ministry values applies; iOS 15 is the floor anyway (bundle-ID
   * blocking needs it).
   */
  minimumIos?: string;
  rules: PolicyRule[];
}

export interface CatalogApp {
  slug: string;
  name: string;
  category: AppCategory;
  publisher?: string;
  android: string[];
  ios: string[];
  /** Web apps without a store app (Visio): pushed as AMAPI webApps / an iOS web clip. */
  web?: string;
}

export interface MinistryDefinition {
  code: string;
  name: string;
  emailDomains: string[];
  siret?: string[];
}

/** A policy's content with only what it says: no stray keys, no personal side outside allowlist mode. */
export function cleanContent(c: PolicyContent): PolicyContent {
  return {
    mode: c.mode,
    ...(c.mode === 'allowlist' && c.personalSide ? { personalSide: c.personalSide } : {}),
    ...(c.description ? { description: c.description } : {}),
    ...(c.minimumIos ? { minimumIos: c.minimumIos } : {}),
    rules: c.rules,
  };
}

/** A policy version as resolvers see it: the scope, its version number and its content. */
export interface VersionedPolicy {
  scope: string;
  version: number;
  content: PolicyContent;
}
