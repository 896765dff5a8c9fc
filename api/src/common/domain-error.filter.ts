import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, HTTP_STATUS_OF } from './domain-error';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

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
      return {
        statusCode: status,
        code: status === 404 ? 'request.not-found' : status === 400 ? 'request.invalid' : `request.http-${status}`,
        message,
      };
    }
    const parser = error as BodyParserError;
    if (parser?.type === 'entity.parse.failed') {
      return {
        statusCode: 400,
        code: 'request.malformed-json',
        message: `The request body is not valid JSON: ${parser.message}`,
      };
    }
    if (parser?.type === 'entity.too.large') {
      const limit = typeof parser.limit === 'number' ? ` (at most ${parser.limit.toLocaleString('en')} bytes)` : '';
      return {
        statusCode: 413,
        code: 'request.too-large',
        message: `The request body is too large${limit}: send less at once.`,
      };
    }
    if (parser?.status && parser.status >= 400 && parser.status < 500) {
      return { statusCode: parser.status, code: 'request.invalid', message: parser.message ?? 'Invalid request' };
    }
    return { statusCode: 500, code: 'internal', message: 'Internal error; it has been logged.' };
  }
}
