/**
 * The API's shapes, as declared by its OpenAPI document (api/openapi.json) and generated into
 * ./client by `npm run openapi`: one definition, the API's own, never restated here. Dates arrive
 * as ISO strings.
 */
export type {
  Agent,
  AndroidEnrollmentToken,
  AppleEnrollmentLink,
  ApplyRequest,
  CatalogApp,
  Compliance,
  Device,
  EffectiveApp,
  EffectivePolicy,
  Exemption,
  ExemptionStatus,
  Ministry,
  Notification,
  MinistryRolloutStatus,
  Ownership,
  PersonalUsage,
  Platform,
  PolicyDiff,
  PolicyMode,
  PolicyRule,
  PolicyVersion,
  Role,
  Rollout,
  RolloutStatus,
  RuleAction,
  SavedPlan,
  StageProgress,
} from './client';
/** The signed-in agent (GET /me). */
export type { Agent as Me } from './client';
/** The body of POST /exemptions. */
export type { RequestExemptionDto as ExemptionRequest } from './client';
