/**
 * Every domain throws its own subclass with a stable code; one filter maps codes to HTTP.
 * The message is written for a person: it says what was wrong and, where possible, what to do.
 *
 * Each subclass declares the union of its codes (`CatalogErrorCode`…) and the kind each is thrown
 * with (`CATALOG_ERROR_KINDS`): a mistyped code does not compile, and the OpenAPI document lists
 * every domain's codes under the HTTP status they answer with.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'too-large'
  | 'too-many-requests'
  | 'unavailable';

export abstract class DomainError<Code extends string = string> extends Error {
  abstract readonly domain: string;
  constructor(
    readonly code: Code,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const HTTP_STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'too-many-requests': 429,
  unavailable: 503,
};
