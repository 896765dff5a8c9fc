import { DomainError, ErrorKind } from '../common/domain-error';

export type CatalogErrorCode = 'unknown-app' | 'invalid-app' | 'app-exists' | 'identifier-taken';

/** The kind (hence HTTP status) each code is thrown with. */
export const CATALOG_ERROR_KINDS: Record<CatalogErrorCode, ErrorKind> = {
  'unknown-app': 'not-found',
  'invalid-app': 'invalid',
  'app-exists': 'conflict',
  'identifier-taken': 'conflict',
};

export class CatalogError extends DomainError<CatalogErrorCode> {
  readonly domain = 'catalog';
  constructor(code: CatalogErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
