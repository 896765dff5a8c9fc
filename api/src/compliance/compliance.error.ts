import { DomainError, ErrorKind } from '../common/domain-error';

export type ComplianceErrorCode = 'unknown-ministry' | 'invalid-period';

/** The kind (hence HTTP status) each code is thrown with. */
export const COMPLIANCE_ERROR_KINDS: Record<ComplianceErrorCode, ErrorKind> = {
  'unknown-ministry': 'not-found',
  'invalid-period': 'invalid',
};

export class ComplianceError extends DomainError<ComplianceErrorCode> {
  readonly domain = 'compliance';
  constructor(code: ComplianceErrorCode, message: string, details?: unknown) {
    super(code, COMPLIANCE_ERROR_KINDS[code], message, details);
  }
}
