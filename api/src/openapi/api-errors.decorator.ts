import { applyDecorators } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { ErrorDomain } from './error-codes';

export const ERROR_DOMAINS_EXTENSION = 'x-error-domains';

/**
 * The error domains whose codes a route (or every route of a controller) may answer with. The
 * document lists them, with the guard's `auth.*` codes on signed-in routes and the `request.*`
 * codes, under each HTTP status, all with the ErrorBody schema (see openapi/document.ts).
 */
export function ApiErrors(...domains: ErrorDomain[]): ClassDecorator & MethodDecorator {
  return applyDecorators(ApiExtension(ERROR_DOMAINS_EXTENSION, domains));
}
