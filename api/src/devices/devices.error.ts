import { DomainError, ErrorKind } from '../common/domain-error';

export type DevicesErrorCode =
  | 'not-found'
  | 'agent-not-found'
  | 'same-agent'
  | 'already-retired'
  | 'not-managed'
  | 'platform-refused'
  | 'platform-unavailable'
  | 'invalid-cursor';

/** The kind (hence HTTP status) each code is thrown with. */
export const DEVICES_ERROR_KINDS: Record<DevicesErrorCode, ErrorKind> = {
  'not-found': 'not-found',
  'agent-not-found': 'not-found',
  'same-agent': 'conflict',
  'already-retired': 'conflict',
  'not-managed': 'conflict',
  'platform-refused': 'conflict',
  'platform-unavailable': 'unavailable',
  'invalid-cursor': 'invalid',
};

export class DevicesError extends DomainError<DevicesErrorCode> {
  readonly domain = 'device';
  constructor(code: DevicesErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
