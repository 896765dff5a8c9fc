import { DomainError, ErrorKind } from '../common/domain-error';

export type RolloutErrorCode = 'not-found' | 'invalid-transition';

/** The kind (hence HTTP status) each code is thrown with. */
export const ROLLOUT_ERROR_KINDS: Record<RolloutErrorCode, ErrorKind> = {
  'not-found': 'not-found',
  'invalid-transition': 'conflict',
};

export class RolloutError extends DomainError<RolloutErrorCode> {
  readonly domain = 'rollout';
  constructor(code: RolloutErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
