import { DomainError, ErrorKind } from '../common/domain-error';

export type AuthErrorCode =
  | 'missing-token'
  | 'malformed-header'
  | 'invalid-token'
  | 'session-expired'
  | 'code-refused'
  | 'forbidden'
  | 'csrf'
  | 'unknown-organisation'
  | 'bad-callback'
  | 'unknown-login'
  | 'login-not-configured'
  | 'issuer-unreachable'
  | 'login-other-browser'
  | 'id-token-refused'
  | 'userinfo-refused'
  | 'unverified-email'
  | 'identity-conflict'
  | 'account-deactivated'
  | 'self-grant'
  | 'self-deactivation'
  | 'person-required'
  | 'token-scope'
  | 'token-not-found'
  | 'bad-logout';

/** The kind (hence HTTP status) each code is thrown with. */
export const AUTH_ERROR_KINDS: Record<AuthErrorCode, ErrorKind> = {
  'missing-token': 'unauthenticated',
  'malformed-header': 'unauthenticated',
  'invalid-token': 'unauthenticated',
  'session-expired': 'unauthenticated',
  'code-refused': 'unauthenticated',
  forbidden: 'forbidden',
  csrf: 'forbidden',
  'unknown-organisation': 'forbidden',
  'bad-callback': 'invalid',
  'unknown-login': 'invalid',
  'login-not-configured': 'not-found',
  'issuer-unreachable': 'unavailable',
  'login-other-browser': 'forbidden',
  'id-token-refused': 'unauthenticated',
  'userinfo-refused': 'unauthenticated',
  'unverified-email': 'forbidden',
  'identity-conflict': 'forbidden',
  'account-deactivated': 'forbidden',
  'self-grant': 'forbidden',
  'self-deactivation': 'forbidden',
  'person-required': 'forbidden',
  'token-scope': 'forbidden',
  'token-not-found': 'not-found',
  'bad-logout': 'invalid',
};

export class AuthError extends DomainError<AuthErrorCode> {
  readonly domain = 'auth';
  static unauthenticated(code: AuthErrorCode, message: string): AuthError {
    return new AuthError(code, 'unauthenticated', message);
  }
  static forbidden(message: string, code: AuthErrorCode = 'forbidden'): AuthError {
    return new AuthError(code, 'forbidden', message);
  }
  constructor(code: AuthErrorCode, kind: ErrorKind, message: string) {
    super(code, kind, message);
  }
}
