import { DomainError, ErrorKind } from '../common/domain-error';

export class PolicyError extends DomainError {
  readonly domain = 'policy';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
