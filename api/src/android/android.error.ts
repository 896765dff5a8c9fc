import { DomainError, ErrorKind } from '../common/domain-error';
import { PushError } from '../rollout/platform-adapter';

export class AndroidError extends DomainError {
  readonly domain = 'android';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}

/**
 * For requests a person makes (binding, signup, enrollment): a failed Google call becomes a 4xx
 * they can act on (`refused` says which), an outage a 503, instead of the job-level PushError.
 */
export async function explainPushError<T>(
  run: () => Promise<T>,
  refused: { code: string; kind: ErrorKind },
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
