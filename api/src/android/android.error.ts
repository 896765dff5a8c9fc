import { DomainError, ErrorKind } from '../common/domain-error';

export class AndroidError extends DomainError {
  readonly domain = 'android';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
