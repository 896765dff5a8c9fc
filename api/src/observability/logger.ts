import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/** The loggers made at the default level (`info`), which `npm start` quiets while it starts and stops. */
const infoLoggers = new Set<Logger>();
let quietLevel: 'warn' | 'error' | undefined;

/** Structured JSON logs (one object per line) for Nest and for request logging alike. */
export function createLogger(level: string): Logger {
  const logger = pino({ level, base: { service: 'mdm-apps' }, timestamp: pino.stdTimeFunctions.isoTime });
  if (level === 'info') {
    infoLoggers.add(logger);
    if (quietLevel) logger.level = quietLevel;
  }
  return logger;
}

/**
 * Until the returned function is called, the loggers at the default level (`info`), existing and
 * new, print only from `level` up: while `npm start` starts (the worker starting, jobs…) the banner
 * stays readable, and while it stops (simulated phones answering a closed database…) only errors
 * are told. With LOG_LEVEL=debug everything is printed as it comes.
 */
export function quietDefaultLogs(level: 'warn' | 'error'): () => void {
  quietLevel = level;
  for (const logger of infoLoggers) logger.level = level;
  return () => {
    quietLevel = undefined;
    for (const logger of infoLoggers) logger.level = 'info';
  };
}

/** Nest's own start-up chatter (one line per module and per route): shown with LOG_LEVEL=debug only. */
const NEST_BOOTSTRAP = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    if (context !== undefined && NEST_BOOTSTRAP.has(context)) this.logger.debug({ context }, String(message));
    else this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
