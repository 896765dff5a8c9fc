import { DomainError, ErrorKind } from '../common/domain-error';

export type NotificationErrorCode = 'not-found';

/** The kind (hence HTTP status) each code is thrown with. */
export const NOTIFICATION_ERROR_KINDS: Record<NotificationErrorCode, ErrorKind> = {
  'not-found': 'not-found',
};

export class NotificationError extends DomainError<NotificationErrorCode> {
  readonly domain = 'notification';
  constructor(code: NotificationErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
