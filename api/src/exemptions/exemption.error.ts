import { DomainError, ErrorKind } from '../common/domain-error';

export type ExemptionErrorCode =
  | 'not-found'
  | 'unknown-app'
  | 'unknown-device'
  | 'not-blocked'
  | 'not-exemptable'
  | 'period-too-long'
  | 'already-exists'
  | 'rule-changed'
  | 'not-yours'
  | 'self-decision'
  | 'invalid-transition'
  | 'invalid-cursor';

/** The kind (hence HTTP status) each code is thrown with. */
export const EXEMPTION_ERROR_KINDS: Record<ExemptionErrorCode, ErrorKind> = {
  'not-found': 'not-found',
  'unknown-app': 'not-found',
  'unknown-device': 'not-found',
  'not-blocked': 'invalid',
  'not-exemptable': 'invalid',
  'period-too-long': 'invalid',
  'already-exists': 'conflict',
  'rule-changed': 'conflict',
  'not-yours': 'forbidden',
  'self-decision': 'forbidden',
  'invalid-transition': 'conflict',
  'invalid-cursor': 'invalid',
};

export class ExemptionError extends DomainError<ExemptionErrorCode> {
  readonly domain = 'exemption';
  constructor(code: ExemptionErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
