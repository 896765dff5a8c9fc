/**
 * The API's own policy vocabulary and plan shapes, imported as types only (erased at build time):
 * one definition for the server and the interface.
 */
export type {
  CatalogApp,
  PolicyContent,
  PolicyMode,
  PolicyRule,
  RuleAction,
} from '../../api/src/policies/policy.types';
export type { Plan, PlanChange, ScopePlan } from '../../api/src/policies/plan/plan.types';
import type { PolicyContent, PolicyMode, PolicyRule } from '../../api/src/policies/policy.types';
import type { Plan } from '../../api/src/policies/plan/plan.types';
import type { EffectivePolicy as ApiEffectivePolicy } from '../../api/src/policies/effective-policy.types';
import type { ExemptionView } from '../../api/src/exemptions/exemption-view';
import type {
  MinistryRolloutStatus as ApiMinistryRolloutStatus,
  RolloutView,
} from '../../api/src/rollout/rollout.view';
export type {
  EnrollmentTokenView as AndroidEnrollmentToken,
  PersonalUsage,
} from '../../api/src/android/android-enrollment.view';
export type { EffectiveApp } from '../../api/src/policies/effective-policy.types';
export type { ExemptionStatus } from '../../api/src/exemptions/exemption-view';
export type { RolloutStatus, StageProgress } from '../../api/src/rollout/rollout.view';

/** An API type as it arrives over HTTP: its dates are ISO strings. */
export type Json<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

export type EffectivePolicy = ApiEffectivePolicy & { deviceId?: string };
export type Exemption = Json<ExemptionView>;
export type MinistryRolloutStatus = Json<ApiMinistryRolloutStatus>;
/** The list leaves out the per-stage progress that the detail carries. */
export type Rollout = Json<Omit<RolloutView, 'progress' | 'totals'>> &
  Partial<Pick<RolloutView, 'progress' | 'totals'>>;

/** Shapes of the other answers, as returned by the NestJS controllers (see api/src). Dates arrive as ISO strings. */

export type Role = 'agent' | 'approver' | 'it-admin' | 'national-admin';

export interface RoleAssignment {
  id: string;
  role: Role;
  ministry: string | null;
}

export interface Me {
  id: string;
  email: string;
  displayName: string;
  ministry: string;
  roles: RoleAssignment[];
}

export type AgentView = Me;

export interface Ministry {
  code: string;
  name: string;
  emailDomains: string[];
  siret: string[];
}

export type Platform = 'android' | 'ios';
export type Ownership = 'company' | 'personal';
export type Compliance = 'unknown' | 'compliant' | 'non-compliant';
export type PushState = 'ok' | 'retrying' | 'failed';

export interface Device {
  id: string;
  platform: Platform;
  ownership: Ownership;
  agentId: string | null;
  ministryCode: string;
  displayName: string;
  model: string | null;
  enrolledAt: string;
  lastSeenAt: string | null;
  pushState: PushState;
  pushError: string | null;
  compliance: Compliance;
  complianceReason: string | null;
  desiredHash: string | null;
  converged: boolean;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface PolicyVersionView {
  scope: string;
  version: number;
  current: boolean;
  mode: PolicyMode;
  contentHash: string;
  createdBy: string;
  createdAt: string;
  comment: string | null;
  rolledBackFrom: number | null;
  content?: PolicyContent;
}

export interface PolicyDiff {
  scope: string;
  from: number;
  to: number;
  mode?: { from: string; to: string };
  description?: { from: string | null; to: string | null };
  added: PolicyRule[];
  removed: PolicyRule[];
  changed: { app: string; from: PolicyRule; to: PolicyRule }[];
}

export interface ExemptionRequest {
  app: string;
  deviceId?: string;
  justification: string;
  days: number;
}

export interface SavedPlan {
  id: string;
  status: string;
  plan: Plan;
  text: string;
}

export interface ApplyRequest {
  stages?: number[];
  stageWaitMinutes?: number;
}

export interface AppleEnrollmentLink {
  url: string;
  expiresAt: string;
  agent: string | null;
}
