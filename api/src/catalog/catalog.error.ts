import { DomainError, ErrorKind } from '../common/domain-error';

export class CatalogError extends DomainError {
  readonly domain = 'catalog';
  constructor(code: string, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
