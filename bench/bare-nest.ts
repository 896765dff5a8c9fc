/**
 * The baseline of `npm run bench -- load`: a bare NestJS application (the same @nestjs/core and
 * @nestjs/platform-express as the service, Express and its default body parsers, no logger) with
 * one trivial GET handler and no database, in a child process of the bench like the service.
 */
import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

export const BARE_PATH = '/bare';

@Controller()
class BareController {
  @Get(BARE_PATH.slice(1))
  bare(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

/** In the child (BENCH_ROLE=bare): the same start/stop messages as serveInChild (bench/support.ts). */
export function serveBareInChild(): void {
  let app: INestApplication | undefined;
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { type: 'start' } | { type: 'stop' }) => {
    void (async () => {
      if (m.type === 'start') {
        app = await NestFactory.create(BareModule, { logger: false });
        await app.listen(0, '127.0.0.1');
        process.send?.({ type: 'started', url: (await app.getUrl()).replace('[::1]', '127.0.0.1') });
      } else {
        await app?.close();
        process.exit(0);
      }
    })().catch((e: unknown) => {
      console.error('bare NestJS:', e);
      process.exit(1);
    });
  });
}
