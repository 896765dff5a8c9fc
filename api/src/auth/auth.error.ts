import { DomainError, ErrorKind } from '../common/domain-error';

export class AuthError extends DomainError {
  readonly domain = 'auth';
  static unauthenticated(code: string, message: string): AuthError {
    return new AuthError(code, 'unauthenticated', message);
  }
  static forbidden(message: string, code = 'forbidden'): AuthError {
    return new AuthError(code, 'forbidden', message);
  }
  constructor(code: string, kind: ErrorKind, message: string) {
    super(code, kind, message);
  }
}
