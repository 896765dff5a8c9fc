import { DomainError, ErrorKind } from '../common/domain-error';

export class AppleError extends DomainError {
  readonly domain = 'apple';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
