import { DomainError, ErrorKind } from '../common/domain-error';

export class ExemptionError extends DomainError {
  readonly domain = 'exemption';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
