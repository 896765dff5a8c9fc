import { AUTH_ERROR_KINDS, AuthError, AuthErrorCode } from './auth.error';

/** An AuthError thrown with the kind its code is declared with. */
export function authFailure(code: AuthErrorCode, message: string): AuthError {
  return new AuthError(code, AUTH_ERROR_KINDS[code], message);
}
