import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { CatalogAppDto } from '../catalog/catalog.responses';
import { sameShape, valuesOf } from '../openapi/same-shape';
import type { ActiveExemption, EffectiveApp, EffectivePolicy, RuleOrigin } from './effective-policy.types';
import type { CatalogPlan, MinistriesPlan, Plan, PlanChange, PlanPlatform, PlanSign, PlanSummary, ScopePlan } from './plan/plan.types';
import type { ApplyPlanDto } from './policies.dto';
import type { PolicyVersionView } from './policies.service';
import type { PolicyDiff } from './policy-diff';
import type { ApplyResult, SavedPlan } from './policy-plan.service';
import {
  MAX_EXEMPTION_DAYS_LIMIT,
  MinistryDefinition,
  PERSONAL_SIDES,
  PersonalSide,
  POLICY_MODES,
  PolicyContent,
  PolicyMode,
  PolicyRule,
  RULE_ACTIONS,
  RuleAction,
} from './policy.types';

// ---- Policy content (also the body of POST /policies/{scope}/plan)

@ApiSchema({ name: 'PolicyRule', description: 'One rule of a policy: what happens to one catalog app.' })
export class PolicyRuleDto {
  @ApiProperty({ type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'Catalog slug', example: 'tiktok' })
  app: string;

  @ApiProperty({ enum: [...RULE_ACTIONS], enumName: 'RuleAction' })
  action: RuleAction;

  @ApiProperty({ type: 'boolean', description: 'Whether an agent may ask for an exemption from this block' })
  exemptable: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_EXEMPTION_DAYS_LIMIT,
    description: 'Required when exemptable: the longest exemption an approver may grant',
  })
  maxExemptionDays?: number;

  @ApiPropertyOptional({ type: 'string', minLength: 3, maxLength: 500, description: 'The text the rule applies' })
  legalBasis?: string;
}
sameShape<PolicyRule, PolicyRuleDto>();

@ApiSchema({ name: 'PolicyContent', description: 'What a policy says: its mode and its rules.' })
export class PolicyContentDto {
  @ApiProperty({ enum: [...POLICY_MODES], enumName: 'PolicyMode' })
  mode: PolicyMode;

  @ApiPropertyOptional({
    enum: [...PERSONAL_SIDES],
    enumName: 'PersonalSide',
    description:
      'Allowlist mode only (default allowlist): the personal side of company-owned phones with a work profile follows the allow-list, or personal use is disallowed (fully managed phones only)',
  })
  personalSide?: PersonalSide;

  @ApiPropertyOptional({ type: 'string', maxLength: 4000 })
  description?: string;

  @ApiPropertyOptional({
    type: 'string',
    pattern: '^(1[5-9]|[2-9][0-9])(\\.[0-9]{1,2})?$',
    example: '17.4',
    description: 'Oldest iOS the iPhones may run (older ones are non-compliant); the stricter of national and ministry applies',
  })
  minimumIos?: string;

  @ApiProperty({ type: () => PolicyRuleDto, isArray: true, maxItems: 3000 })
  rules: PolicyRuleDto[];
}
sameShape<PolicyContent, PolicyContentDto>();

@ApiSchema({
  name: 'PlanRequest',
  description:
    'New content proposed for a scope (JSON, or the same document in YAML, the format of the policy-as-code files). The national baseline is a blocklist whose rules block or require, each with its legal basis.',
})
export class PlanRequestDto extends PolicyContentDto {
  @ApiPropertyOptional({ type: 'string', maxLength: 1000, description: 'Recorded with the new version' })
  comment?: string;
}

// ---- Versions and differences

@ApiSchema({ name: 'PolicyVersion', description: 'A version of a scope’s policy (with its content when asked for one version).' })
export class PolicyVersionDto {
  @ApiProperty({ type: 'string', description: '"national" or a ministry code' })
  scope: string;

  @ApiProperty({ type: 'integer' })
  version: number;

  @ApiProperty({ type: 'boolean', description: 'This is the scope’s current version' })
  current: boolean;

  @ApiProperty({ enum: [...POLICY_MODES], enumName: 'PolicyMode' })
  mode: string;

  @ApiProperty({ type: 'string' })
  contentHash: string;

  @ApiProperty({ type: 'string' })
  createdBy: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;

  @ApiProperty({ type: 'string', nullable: true })
  comment: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'The version this one restored' })
  rolledBackFrom: number | null;

  @ApiPropertyOptional({ type: () => PolicyContentDto, description: 'Present on single-version answers' })
  content?: PolicyContentDto;
}
sameShape<PolicyVersionView, PolicyVersionDto>();

@ApiSchema({ name: 'ModeChange' })
export class ModeChangeDto {
  @ApiProperty({ enum: [...POLICY_MODES], enumName: 'PolicyMode' })
  from: string;

  @ApiProperty({ enum: [...POLICY_MODES], enumName: 'PolicyMode' })
  to: string;
}

@ApiSchema({ name: 'DescriptionChange' })
export class DescriptionChangeDto {
  @ApiProperty({ type: 'string', nullable: true })
  from: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  to: string | null;
}

@ApiSchema({ name: 'RuleChange', description: 'A rule present in both versions, changed.' })
export class RuleChangeDto {
  @ApiProperty({ type: 'string' })
  app: string;

  @ApiProperty({ type: () => PolicyRuleDto })
  from: PolicyRuleDto;

  @ApiProperty({ type: () => PolicyRuleDto })
  to: PolicyRuleDto;
}

@ApiSchema({ name: 'PolicyDiff', description: 'Rule-level difference between two versions of a scope, keyed by app.' })
export class PolicyDiffDto {
  @ApiProperty({ type: 'string' })
  scope: string;

  @ApiProperty({ type: 'integer' })
  from: number;

  @ApiProperty({ type: 'integer' })
  to: number;

  @ApiPropertyOptional({ type: () => ModeChangeDto })
  mode?: ModeChangeDto;

  @ApiPropertyOptional({ type: () => ModeChangeDto, description: 'allowlist, disallowed, or blocklist' })
  personalSide?: ModeChangeDto;

  @ApiPropertyOptional({ type: () => DescriptionChangeDto })
  description?: DescriptionChangeDto;

  @ApiProperty({ type: () => PolicyRuleDto, isArray: true })
  added: PolicyRuleDto[];

  @ApiProperty({ type: () => PolicyRuleDto, isArray: true })
  removed: PolicyRuleDto[];

  @ApiProperty({ type: () => RuleChangeDto, isArray: true })
  changed: RuleChangeDto[];
}
sameShape<PolicyDiff & { scope: string; from: number; to: number }, PolicyDiffDto>();

// ---- Plans

@ApiSchema({ name: 'PlanChange', description: 'One line of a plan: what changes on one platform for one app in one scope.' })
export class PlanChangeDto {
  @ApiProperty({ enum: valuesOf<PlanSign>({ '+': true, '-': true, '~': true }), enumName: 'PlanSign' })
  sign: PlanSign;

  @ApiProperty({ enum: valuesOf<PlanPlatform>({ android: true, ios: true }), enumName: 'Platform' })
  platform: PlanPlatform;

  @ApiProperty({ type: 'string' })
  app: string;

  @ApiProperty({ type: 'string', isArray: true, description: 'Package names, bundle IDs or the web app address' })
  identifiers: string[];

  @ApiProperty({ type: 'string' })
  detail: string;
}
sameShape<PlanChange, PlanChangeDto>();

@ApiSchema({ name: 'ScopePlan', description: 'What a plan changes in one scope.' })
export class ScopePlanDto {
  @ApiProperty({ type: 'string' })
  scope: string;

  @ApiProperty({ type: 'integer', nullable: true })
  fromVersion: number | null;

  @ApiPropertyOptional({ type: () => ModeChangeDto })
  modeChange?: ModeChangeDto;

  @ApiPropertyOptional({
    type: () => ModeChangeDto,
    description: 'The personal side of company-owned phones: allowlist, disallowed, or blocklist',
  })
  personalSideChange?: ModeChangeDto;

  @ApiProperty({ type: () => PlanChangeDto, isArray: true })
  changes: PlanChangeDto[];

  @ApiProperty({ type: 'integer', description: 'Devices whose effective policy changes because of this scope alone' })
  devicesAffected: number;

  @ApiProperty({ type: () => PolicyContentDto })
  content: PolicyContentDto;
}
sameShape<ScopePlan, ScopePlanDto>();

@ApiSchema({ name: 'CatalogAppChange' })
export class CatalogAppChangeDto {
  @ApiProperty({ type: () => CatalogAppDto })
  before: CatalogAppDto;

  @ApiProperty({ type: () => CatalogAppDto })
  after: CatalogAppDto;
}

@ApiSchema({ name: 'CatalogPlan' })
export class CatalogPlanDto {
  @ApiProperty({ type: () => CatalogAppDto, isArray: true })
  added: CatalogAppDto[];

  @ApiProperty({ type: 'string', isArray: true, description: 'Slugs' })
  removed: string[];

  @ApiProperty({ type: () => CatalogAppChangeDto, isArray: true })
  changed: CatalogAppChangeDto[];
}
sameShape<CatalogPlan, CatalogPlanDto>();

@ApiSchema({ name: 'MinistryDefinition', description: 'A ministry as its policy-as-code file defines it.' })
export class MinistryDefinitionDto {
  @ApiProperty({ type: 'string' })
  code: string;

  @ApiProperty({ type: 'string' })
  name: string;

  @ApiProperty({ type: 'string', isArray: true })
  emailDomains: string[];

  @ApiPropertyOptional({ type: 'string', isArray: true })
  siret?: string[];
}
sameShape<MinistryDefinition, MinistryDefinitionDto>();

@ApiSchema({ name: 'MinistryDefinitionChange' })
export class MinistryDefinitionChangeDto {
  @ApiProperty({ type: () => MinistryDefinitionDto })
  before: MinistryDefinitionDto;

  @ApiProperty({ type: () => MinistryDefinitionDto })
  after: MinistryDefinitionDto;
}

@ApiSchema({ name: 'MinistriesPlan' })
export class MinistriesPlanDto {
  @ApiProperty({ type: () => MinistryDefinitionDto, isArray: true })
  added: MinistryDefinitionDto[];

  @ApiProperty({ type: () => MinistryDefinitionChangeDto, isArray: true })
  changed: MinistryDefinitionChangeDto[];
}
sameShape<MinistriesPlan, MinistriesPlanDto>();

@ApiSchema({ name: 'PlanSummary' })
export class PlanSummaryDto {
  @ApiProperty({ type: 'boolean' })
  hasChanges: boolean;

  @ApiProperty({ type: 'integer' })
  scopesChanged: number;

  @ApiProperty({ type: 'integer' })
  added: number;

  @ApiProperty({ type: 'integer' })
  removed: number;

  @ApiProperty({ type: 'integer' })
  changed: number;

  @ApiProperty({ type: 'integer' })
  devicesAffected: number;

  @ApiProperty({ type: 'integer' })
  devicesTotal: number;
}
sameShape<PlanSummary, PlanSummaryDto>();

@ApiSchema({ name: 'Plan', description: 'What applying a change would do, to review before apply.' })
export class PlanDto {
  @ApiProperty({ type: 'integer', enum: [1] })
  formatVersion: 1;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', isArray: true, description: 'Scopes covered: apply refuses the plan if one of them changed since' })
  scopes: string[];

  @ApiProperty({ type: 'string' })
  baseFingerprint: string;

  @ApiProperty({ type: () => CatalogPlanDto })
  catalog: CatalogPlanDto;

  @ApiProperty({ type: () => MinistriesPlanDto })
  ministries: MinistriesPlanDto;

  @ApiProperty({ type: () => ScopePlanDto, isArray: true })
  policies: ScopePlanDto[];

  @ApiProperty({ type: () => PlanSummaryDto })
  summary: PlanSummaryDto;

  @ApiPropertyOptional({ type: 'string', description: 'Recorded with the versions the plan creates' })
  comment?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'A rollback: the version whose content this plan restores' })
  rolledBackFrom?: number;
}
sameShape<Plan, PlanDto>();

@ApiSchema({ name: 'SavedPlan', description: 'A plan saved for review, applied by id exactly as shown.' })
export class SavedPlanDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ['planned', 'applied'], enumName: 'PlanStatus' })
  status: 'planned' | 'applied';

  @ApiProperty({ type: () => PlanDto })
  plan: PlanDto;

  @ApiProperty({ type: 'string', description: 'The plan as text (+ blocked/required, - lifted, ~ changed)' })
  text: string;
}
sameShape<SavedPlan, SavedPlanDto>();

@ApiSchema({ name: 'AppliedVersion' })
export class AppliedVersionDto {
  @ApiProperty({ type: 'string' })
  scope: string;

  @ApiProperty({ type: 'integer' })
  version: number;

  @ApiProperty({ type: 'string', format: 'uuid', description: 'The rollout that takes it to the phones' })
  rolloutId: string;
}

@ApiSchema({ name: 'CatalogCounts' })
export class CatalogCountsDto {
  @ApiProperty({ type: 'integer' })
  added: number;

  @ApiProperty({ type: 'integer' })
  changed: number;

  @ApiProperty({ type: 'integer' })
  removed: number;
}

@ApiSchema({ name: 'ApplyResult', description: 'The versions a plan created, and the catalog changes it made.' })
export class ApplyResultDto {
  @ApiProperty({ type: () => AppliedVersionDto, isArray: true })
  applied: AppliedVersionDto[];

  @ApiProperty({ type: () => CatalogCountsDto })
  catalog: CatalogCountsDto;
}
sameShape<ApplyResult, ApplyResultDto>();

@ApiSchema({ name: 'ApplyRequest', description: 'How a reviewed plan reaches the phones: all at once, or in stages.' })
export class ApplyRequestDto {
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    minItems: 1,
    maxItems: 10,
    minimum: 1,
    maximum: 100,
    description: 'Staged rollout: cumulative percentages of devices, ending at 100 (default [100], all at once)',
    example: [1, 10, 100],
  })
  stages?: number[];

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10080, description: 'Minutes to wait between stages', example: 60 })
  stageWaitMinutes?: number;
}
sameShape<ApplyPlanDto, ApplyRequestDto>();

// ---- Effective policies

@ApiSchema({ name: 'ActiveExemption', description: 'The exemption that lifted a block.' })
export class ActiveExemptionDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string' })
  app: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  validUntil: string;
}
sameShape<ActiveExemption, ActiveExemptionDto>();

@ApiSchema({ name: 'EffectiveApp', description: 'What a phone does with one app, and why.' })
export class EffectiveAppDto {
  @ApiProperty({ type: 'string', description: 'Catalog slug' })
  app: string;

  @ApiProperty({ type: 'string', description: 'Display name from the catalog (the slug if the app left the catalog)' })
  name: string;

  @ApiProperty({ enum: [...RULE_ACTIONS], enumName: 'RuleAction' })
  action: RuleAction;

  @ApiProperty({ enum: valuesOf<RuleOrigin>({ national: true, ministry: true }), enumName: 'RuleOrigin', isArray: true })
  origins: RuleOrigin[];

  @ApiProperty({ type: 'boolean' })
  exemptable: boolean;

  @ApiProperty({ type: 'integer', nullable: true })
  maxExemptionDays: number | null;

  @ApiProperty({ type: 'string', isArray: true })
  legalBasis: string[];

  @ApiPropertyOptional({ type: () => ActiveExemptionDto, description: 'Set when an active exemption lifted this block' })
  liftedBy?: ActiveExemptionDto;

  @ApiProperty({ type: 'string', isArray: true })
  android: string[];

  @ApiProperty({ type: 'string', isArray: true })
  ios: string[];

  @ApiPropertyOptional({ type: 'string', format: 'uri' })
  web?: string;
}
sameShape<EffectiveApp, EffectiveAppDto>();

@ApiSchema({
  name: 'EffectivePolicy',
  description: 'What a phone or an agent actually gets: national ∪ ministry − the blocks lifted by active exemptions.',
})
export class EffectivePolicyDto {
  @ApiProperty({ enum: [...POLICY_MODES], enumName: 'PolicyMode' })
  mode: PolicyMode;

  @ApiPropertyOptional({
    enum: [...PERSONAL_SIDES],
    enumName: 'PersonalSide',
    description: 'Allowlist mode only: the personal side of company-owned phones follows the allow-list, or is disallowed',
  })
  personalSide?: PersonalSide;

  @ApiPropertyOptional({ type: 'string', description: 'Oldest iOS the iPhones may run (policy setting)' })
  minimumIos?: string;

  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: 'integer' })
  nationalVersion: number;

  @ApiProperty({ type: 'integer' })
  ministryVersion: number;

  @ApiProperty({ type: () => EffectiveAppDto, isArray: true })
  apps: EffectiveAppDto[];

  @ApiProperty({ type: 'string', isArray: true, description: 'Exempted apps that lifted a block, sorted' })
  exemptedApps: string[];

  @ApiProperty({ type: 'string', description: 'Hash of what is enforced on the phone (actions and identifiers)' })
  hash: string;
}
sameShape<EffectivePolicy, EffectivePolicyDto>();

@ApiSchema({ name: 'DeviceEffectivePolicy', description: 'The effective policy of one device.' })
export class DeviceEffectivePolicyDto extends EffectivePolicyDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  deviceId: string;
}
sameShape<EffectivePolicy & { deviceId: string }, DeviceEffectivePolicyDto>();
