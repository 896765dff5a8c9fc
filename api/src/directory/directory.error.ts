import { DomainError, ErrorKind } from '../common/domain-error';

export type DirectoryErrorCode =
  | 'agent-not-found'
  | 'device-not-found'
  | 'unknown-ministry'
  | 'role-scope'
  | 'role-exists'
  | 'role-not-found'
  | 'self-demotion'
  | 'invalid-cursor';

/** The kind (hence HTTP status) each code is thrown with. */
export const DIRECTORY_ERROR_KINDS: Record<DirectoryErrorCode, ErrorKind> = {
  'agent-not-found': 'not-found',
  'device-not-found': 'not-found',
  'unknown-ministry': 'not-found',
  'role-scope': 'invalid',
  'role-exists': 'conflict',
  'role-not-found': 'not-found',
  'self-demotion': 'conflict',
  'invalid-cursor': 'invalid',
};

export class DirectoryError extends DomainError<DirectoryErrorCode> {
  readonly domain = 'directory';
  constructor(code: DirectoryErrorCode, kind: ErrorKind, message: string) {
    super(code, kind, message);
  }
}
