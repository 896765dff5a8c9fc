import type { Platform } from '../../devices/platforms';
import type { CatalogApp, MinistryDefinition, PolicyContent } from '../policy.types';

export type PlanSign = '+' | '-' | '~';
export type PlanPlatform = Platform;

/** One line of `plan` output: what changes on one platform for one app in one scope. */
export interface PlanChange {
  sign: PlanSign;
  platform: PlanPlatform;
  app: string;
  /** Package names, bundle IDs or the web app address this line is about. */
  identifiers: string[];
  detail: string;
}

export interface ScopePlan {
  scope: string;
  fromVersion: number | null;
  modeChange?: { from: string; to: string };
  /** The personal side of company-owned phones (allowlist mode): allow-list, disallowed, or blocklist. */
  personalSideChange?: { from: string; to: string };
  changes: PlanChange[];
  /** Devices whose effective policy changes because of this scope's change alone. */
  devicesAffected: number;
  content: PolicyContent;
}

export interface CatalogPlan {
  added: CatalogApp[];
  removed: string[];
  changed: { before: CatalogApp; after: CatalogApp }[];
}

export interface MinistriesPlan {
  added: MinistryDefinition[];
  changed: { before: MinistryDefinition; after: MinistryDefinition }[];
}

export interface PlanSummary {
  hasChanges: boolean;
  scopesChanged: number;
  added: number;
  removed: number;
  changed: number;
  devicesAffected: number;
  devicesTotal: number;
}

export interface Plan {
  formatVersion: 1;
  createdAt: string;
  /** Scopes this plan covers; `apply` refuses it if any of them, the baseline or the catalog changed since. */
  scopes: string[];
  baseFingerprint: string;
  catalog: CatalogPlan;
  ministries: MinistriesPlan;
  policies: ScopePlan[];
  summary: PlanSummary;
  /** Recorded with the versions the plan creates. */
  comment?: string;
  /** A rollback: the version whose content the plan restores (recorded with the new version). */
  rolledBackFrom?: number;
}
