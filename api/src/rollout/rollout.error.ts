import { DomainError, ErrorKind } from '../common/domain-error';

export class RolloutError extends DomainError {
  readonly domain = 'rollout';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
