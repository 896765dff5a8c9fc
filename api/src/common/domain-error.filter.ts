import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { Response } from 'express';
import { DomainError, ErrorKind, HTTP_STATUS_OF } from './domain-error';

/**
 * Codes of the `request` domain: input refused before any domain code ran. Other HTTP errors of
 * the framework (a health check's 503…) carry `request.http-<status>`.
 */
export type RequestErrorCode = 'invalid' | 'not-found' | 'malformed-json' | 'too-large' | 'rate-limited';

/** The kind (hence HTTP status) each code is answered with. */
export const REQUEST_ERROR_KINDS: Record<RequestErrorCode, ErrorKind> = {
  invalid: 'invalid',
  'not-found': 'not-found',
  'malformed-json': 'invalid',
  'too-large': 'too-large',
  'rate-limited': 'too-many-requests',
};

/** Anything unexpected: a bug, logged. */
export const INTERNAL_ERROR_CODE = 'internal';

/** Every error answer of the API, whatever its status. */
@ApiSchema({ name: 'ErrorBody', description: 'Every error answer of the API (4xx and 5xx), whatever its status.' })
export class ErrorBody {
  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated.', example: 404 })
  statusCode: number;

  @ApiProperty({
    type: 'string',
    description:
      "Stable code `<domain>.<code>` (see the ErrorCode schema and each operation's error responses), `request.http-<status>` for other HTTP errors, or `internal`.",
    example: 'catalog.unknown-app',
  })
  code: string;

  @ApiProperty({ type: 'string', description: 'What was wrong and, where possible, what to do, for a person.' })
  message: string;

  @ApiPropertyOptional({
    description: 'Machine-readable particulars: schema problems, the current state of a conflict…',
    anyOf: [
      { type: 'object', additionalProperties: true },
      { type: 'array', items: {} },
    ],
  })
  details?: unknown;
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

type RequestCode = `request.${RequestErrorCode}` | `request.http-${number}`;

/** The one place errors become HTTP responses. Anything unexpected is a 500, logged: a bug to fix. */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(error);
    if (body.statusCode >= 500)
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    // Routes that declare their own Content-Type (CSV, .mobileconfig) set it before the handler ran: an error is JSON all the same.
    res.removeHeader('Content-Disposition');
    res.status(body.statusCode).type('application/json').json(body);
  }

  private toBody(error: unknown): ErrorBody {
    if (error instanceof DomainError) {
      const body: ErrorBody = {
        statusCode: HTTP_STATUS_OF[error.kind],
        code: `${error.domain}.${error.code}`,
        message: error.message,
      };
      if (error.details !== undefined) body.details = error.details;
      return body;
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const response = error.getResponse();
      const raw =
        typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
      const message = Array.isArray(raw) ? raw.join('; ') : String(raw ?? error.message);
      const cause = (error as { cause?: BodyParserError }).cause;
      if (cause?.type === 'entity.parse.failed' || cause?.type === 'entity.too.large') return this.toBody(cause);
      const code: RequestCode =
        status === 404 ? 'request.not-found' : status === 400 ? 'request.invalid' : `request.http-${status}`;
      return { statusCode: status, code, message };
    }
    const parser = error as BodyParserError;
    if (parser?.type === 'entity.parse.failed') {
      return {
        statusCode: 400,
        code: 'request.malformed-json' satisfies RequestCode,
        message: `The request body is not valid JSON: ${parser.message}`,
      };
    }
    if (parser?.type === 'entity.too.large') {
      const limit = typeof parser.limit === 'number' ? ` (at most ${parser.limit.toLocaleString('en')} bytes)` : '';
      return {
        statusCode: 413,
        code: 'request.too-large' satisfies RequestCode,
        message: `The request body is too large${limit}: send less at once.`,
      };
    }
    if (parser?.status && parser.status >= 400 && parser.status < 500) {
      return {
        statusCode: parser.status,
        code: 'request.invalid' satisfies RequestCode,
        message: parser.message ?? 'Invalid request',
      };
    }
    return { statusCode: 500, code: INTERNAL_ERROR_CODE, message: 'Internal error; it has been logged.' };
  }
}
