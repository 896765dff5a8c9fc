/**
 * The API's own policy vocabulary and plan shapes, imported as types only (erased at build time):
 * one definition for the server and the interface.
 */
export type { CatalogApp, PolicyContent, PolicyMode, PolicyRule, RuleAction } from '../../api/src/policies/policy.types';
export type { Plan, PlanChange, ScopePlan } from '../../api/src/policies/plan/plan.types';
import type { PolicyContent, PolicyMode, PolicyRule, RuleAction } from '../../api/src/policies/policy.types';
import type { Plan } from '../../api/src/policies/plan/plan.types';
/** Shapes of the API's answers, as returned by the NestJS controllers (see api/src). Dates arrive as ISO strings. */

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

export interface EffectiveApp {
  app: string;
  name: string;
  action: RuleAction;
  origins: ('national' | 'ministry')[];
  exemptable: boolean;
  maxExemptionDays: number | null;
  legalBasis: string[];
  liftedBy?: { id: string; app: string; validUntil: string };
  android: string[];
  ios: string[];
  web?: string;
}

export interface EffectivePolicy {
  mode: PolicyMode;
  ministry: string;
  nationalVersion: number;
  ministryVersion: number;
  apps: EffectiveApp[];
  exemptedApps: string[];
  hash: string;
  deviceId?: string;
}

export type ExemptionStatus = 'pending' | 'approved' | 'denied' | 'cancelled' | 'revoked' | 'expired';

export interface Exemption {
  id: string;
  status: ExemptionStatus;
  ministry: string;
  app: { slug: string; name: string };
  agent: { id: string; displayName: string; email: string };
  device: { id: string; displayName: string } | null;
  justification: string;
  requestedDays: number;
  requestedAt: string;
  decidedBy: { id: string; displayName: string } | null;
  decidedAt: string | null;
  decisionReason: string | null;
  approvedDays: number | null;
  validFrom: string | null;
  validUntil: string | null;
  renewalOf: string | null;
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

export type RolloutStatus = 'preparing' | 'running' | 'paused' | 'completed' | 'aborted';

export interface StageProgress {
  stage: number;
  percent: number;
  released: boolean;
  devices: number;
  converged: number;
  pending: number;
  failed: number;
  held: number;
  nonCompliant: number;
}

export interface Rollout {
  id: string;
  scope: string;
  reason: string;
  status: RolloutStatus;
  stages: number[];
  stageIndex: number;
  stageWaitSeconds: number;
  stageStartedAt: string | null;
  nextStageAt: string | null;
  pauseReason: string | null;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  groups: number;
  progress?: StageProgress[];
  totals?: Omit<StageProgress, 'stage' | 'percent' | 'released'>;
}

export interface MinistryRolloutStatus {
  ministry: string;
  devices: number;
  converged: number;
  pending: number;
  failed: number;
  nonCompliant: number;
  byPlatform: { platform: string; devices: number; converged: number }[];
  activeRollouts: { id: string; scope: string; status: RolloutStatus; stageIndex: number; stages: number[] }[];
  failures: { deviceId: string; displayName: string; platform: string; agentEmail: string; reason: string | null; attempts: number; lastPushAt: string | null }[];
}

export type PersonalUsage = 'allowed' | 'disallowed' | 'dedicated';

export interface AndroidEnrollmentToken {
  name: string;
  ministry: string;
  agent: { id: string; email: string } | null;
  personalUsage: PersonalUsage;
  expiresAt: string;
  qrCode: string;
  value: string;
}

export interface AppleEnrollmentLink {
  url: string;
  expiresAt: string;
  agent: string | null;
}
