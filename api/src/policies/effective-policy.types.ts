import type { PersonalSide, PolicyMode } from './policy.types';

/**
 * What a phone or an agent actually gets: plain types, shared with the admin interface (which imports
 * them as types only), so they must not pull in Node or the database.
 */
export type EffectiveAction = 'block' | 'allow' | 'require';
export type RuleOrigin = 'national' | 'ministry';

export interface ActiveExemption {
  id: string;
  app: string;
  validUntil: string;
}

export interface EffectiveApp {
  app: string;
  /** Display name from the catalog (the slug if the app left the catalog). */
  name: string;
  action: EffectiveAction;
  origins: RuleOrigin[];
  exemptable: boolean;
  maxExemptionDays: number | null;
  legalBasis: string[];
  /** Set when an active exemption lifted this app's block for this agent. */
  liftedBy?: ActiveExemption;
  android: string[];
  ios: string[];
  web?: string;
}

export interface EffectivePolicy {
  mode: PolicyMode;
  /** Allowlist mode only: the personal side of company-owned phones follows the allow-list, or is disallowed. */
  personalSide?: PersonalSide;
  /** Oldest iOS version the phones may run (policy setting); older iPhones are non-compliant. */
  minimumIos?: string;
  ministry: string;
  nationalVersion: number;
  ministryVersion: number;
  apps: EffectiveApp[];
  /** Exempted apps that lifted a block, sorted: with the ministry version, the device's group. */
  exemptedApps: string[];
  /** Hash of what is enforced on the phone (actions and identifiers), not of explanations. */
  hash: string;
}
