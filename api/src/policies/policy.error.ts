import { DomainError, ErrorKind } from '../common/domain-error';

export type PolicyErrorCode =
  | 'unknown-scope'
  | 'unknown-version'
  | 'no-baseline'
  | 'already-current'
  | 'conflicting-rule'
  | 'invalid-policy'
  | 'invalid-policies'
  | 'invalid-yaml'
  | 'invalid-plan'
  | 'invalid-stages'
  | 'plan-not-found'
  | 'plan-already-applied'
  | 'stale-plan'
  | 'app-in-use';

/** The kind (hence HTTP status) each code is thrown with. */
export const POLICY_ERROR_KINDS: Record<PolicyErrorCode, ErrorKind> = {
  'unknown-scope': 'not-found',
  'unknown-version': 'not-found',
  'no-baseline': 'not-found',
  'already-current': 'conflict',
  'conflicting-rule': 'conflict',
  'invalid-policy': 'invalid',
  'invalid-policies': 'invalid',
  'invalid-yaml': 'invalid',
  'invalid-plan': 'invalid',
  'invalid-stages': 'invalid',
  'plan-not-found': 'not-found',
  'plan-already-applied': 'conflict',
  'stale-plan': 'conflict',
  'app-in-use': 'conflict',
};

export class PolicyError extends DomainError<PolicyErrorCode> {
  readonly domain = 'policy';
  constructor(code: PolicyErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
