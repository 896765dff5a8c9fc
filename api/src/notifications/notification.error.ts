import { DomainError } from '../common/domain-error';

export class NotificationError extends DomainError {
  readonly domain = 'notification';
}
