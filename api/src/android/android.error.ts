import { DomainError, ErrorKind } from '../common/domain-error';
import { PushError } from '../rollout/platform-adapter';

export type AndroidErrorCode =
  | 'unknown-ministry'
  | 'unknown-agent'
  | 'unknown-signup'
  | 'invalid-enterprise'
  | 'enterprise-bound-elsewhere'
  | 'no-enterprise-token'
  | 'no-project'
  | 'bad-signup'
  | 'bad-enterprise'
  | 'bad-token'
  | 'google-refused'
  | 'google-unavailable'
  | 'not-ready'
  | 'personal-use-disallowed'
  | 'push-unauthenticated'
  | 'bad-push'
  | 'not-configured';

/** The kind (hence HTTP status) each code is thrown with. */
export const ANDROID_ERROR_KINDS: Record<AndroidErrorCode, ErrorKind> = {
  'unknown-ministry': 'not-found',
  'unknown-agent': 'not-found',
  'unknown-signup': 'not-found',
  'invalid-enterprise': 'invalid',
  'enterprise-bound-elsewhere': 'conflict',
  'no-enterprise-token': 'invalid',
  'no-project': 'unavailable',
  'bad-signup': 'unavailable',
  'bad-enterprise': 'unavailable',
  'bad-token': 'unavailable',
  'google-refused': 'invalid',
  'google-unavailable': 'unavailable',
  'not-ready': 'conflict',
  'personal-use-disallowed': 'conflict',
  'push-unauthenticated': 'unauthenticated',
  'bad-push': 'invalid',
  // This server runs without Android (no Google credentials): the operator's settings, not the request.
  'not-configured': 'conflict',
};

export class AndroidError extends DomainError<AndroidErrorCode> {
  readonly domain = 'android';
  constructor(code: AndroidErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}

/**
 * For requests a person makes (binding, signup, enrollment): a failed Google call becomes a 4xx
 * they can act on (`refused` says which), an outage a 503, instead of the job-level PushError.
 */
export async function explainPushError<T>(
  run: () => Promise<T>,
  refused: { code: AndroidErrorCode; kind: ErrorKind },
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof PushError)
      throw e.retryable
        ? new AndroidError('google-unavailable', 'unavailable', e.message)
        : new AndroidError(refused.code, refused.kind, e.message);
    throw e;
  }
}
