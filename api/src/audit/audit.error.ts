import { DomainError, ErrorKind } from '../common/domain-error';

export type AuditErrorCode = 'invalid-checkpoint';

/** The kind (hence HTTP status) each code is thrown with. */
export const AUDIT_ERROR_KINDS: Record<AuditErrorCode, ErrorKind> = {
  'invalid-checkpoint': 'invalid',
};

export class AuditError extends DomainError<AuditErrorCode> {
  readonly domain = 'audit';
  constructor(code: AuditErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
