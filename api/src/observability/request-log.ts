import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

/** Probes and scrapers: not logged. */
const QUIET_URLS = new Set(['/health', '/metrics']);

/**
 * One JSON line per answered request, as pino-http wrote them ("request completed", "request
 * errored" for a 5xx), with only what an operator reads: method, URL, status and time. pino-http
 * built a child logger and serializers for every request even when the level printed nothing
 * (1.4 % of the API's CPU under `npm run bench -- load` at LOG_LEVEL=error), and its lines carried
 * every request header, the Authorization and Cookie headers (bearer tokens, session cookies) in
 * clear among them.
 */
export function requestLog(logger: Logger): RequestHandler {
  let sequence = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    if (QUIET_URLS.has(req.url)) return next();
    const started = performance.now();
    const id = ++sequence;
    res.once('finish', () => {
      const failed = res.statusCode >= 500;
      if (!logger.isLevelEnabled(failed ? 'error' : 'info')) return;
      const line = {
        req: { id, method: req.method, url: req.originalUrl },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - started),
      };
      if (failed) logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    });
    next();
  };
}
