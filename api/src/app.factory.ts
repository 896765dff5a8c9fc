import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppModule, AppOptions } from './app.module';
import { MDM_CONTENT_TYPES } from './apple/apple.controller';
import { DomainErrorFilter } from './common/domain-error.filter';
import { InputPipe } from './common/input.pipe';
import { createOpenApiDocument } from './openapi/document';
import { createLogger, PinoNestLogger } from './observability/logger';
import { requestLog } from './observability/request-log';
import { securityHeaders } from './security/security-headers';

export interface CreateAppOptions extends AppOptions {
  logLevel: string;
  bodyLimitBytes: number;
  /** Express "trust proxy": the proxies whose X-Forwarded-For gives the client address (rate limits per address). */
  trustProxy?: string | number;
}

/** The HTTP application, configured the same way for `npm start` and for the e2e tests. */
export async function createApp(options: CreateAppOptions): Promise<INestApplication> {
  const logger = createLogger(options.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  // First, so that every response carries them, errors from the body parsers included.
  app.use(securityHeaders());
  app.disable('x-powered-by');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  app.useBodyParser('json', { limit: options.bodyLimitBytes });
  // Apple MDM messages: the raw bytes, because their signature covers them exactly.
  app.useBodyParser('raw', { type: MDM_CONTENT_TYPES, limit: Math.min(options.bodyLimitBytes, 2_000_000) });
  // Policy content may also be sent as YAML, the format of the policy-as-code files.
  app.useBodyParser('text', {
    type: ['application/yaml', 'application/x-yaml', 'text/yaml'],
    limit: options.bodyLimitBytes,
  });
  app.useBodyParser('urlencoded', { limit: options.bodyLimitBytes, extended: false });
  if (options.logLevel !== 'silent') app.use(requestLog(logger));
  app.useGlobalPipes(new InputPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainErrorFilter());
  app.enableShutdownHooks();
  // The same document as the committed api/openapi.json (npm run openapi).
  SwaggerModule.setup('api/docs', app, () => createOpenApiDocument(app));
  // The admin interface, built by `npm run build` (it routes in the URL fragment, so no API path is shadowed).
  const ui = [resolve(__dirname, '../../admin-ui/dist'), resolve(__dirname, '../../../admin-ui/dist')].find((dir) =>
    existsSync(resolve(dir, 'index.html')),
  );
  if (ui) {
    // Only the interface's own paths reach the file system (its hashed assets, and index.html at "/"):
    // served from "/" for every path, serve-static cost each API request a stat() of a missing file.
    app.useStaticAssets(resolve(ui, 'assets'), { prefix: '/assets/', maxAge: '1h' });
    const index = resolve(ui, 'index.html');
    app.use((req: Request, res: Response, next: NextFunction) => {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || (req.path !== '/' && req.path !== '/index.html'))
        return next();
      res.sendFile(index, { maxAge: '1h' }, (e) => e && next(e));
    });
  }
  return app;
}
