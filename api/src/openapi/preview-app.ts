import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';

/**
 * The application's modules and controllers without running anything (Nest's preview mode: no
 * provider is instantiated, so no database, identity provider or platform is reached), with
 * Android and Apple configured so that their routes are part of the document.
 */
export async function createPreviewApp(): Promise<INestApplication> {
  const unreachable = 'http://127.0.0.1:9';
  return NestFactory.create(
    AppModule.forRoot({
      databaseUrl: 'postgres://preview@127.0.0.1:9/preview',
      oidc: { issuer: unreachable, audience: 'mdm-apps-api' },
      worker: false,
      mail: { mailFrom: 'preview@example.invalid', publicUrl: unreachable },
      rollout: { simulateDevices: false },
      android: { rootUrl: unreachable, quotaPer100s: 1, timeoutMs: 1, pubsub: { jwksUrl: `${unreachable}/jwks` } },
      apple: {
        serverBaseUrl: unreachable,
        apnsHost: '127.0.0.1',
        apnsPort: 9,
        identityFrom: 'signature',
        proxyCertHeader: 'x-client-cert',
      },
    }),
    { preview: true, logger: false },
  );
}
