/**
 * Runs the fake Android Management API standalone, for demos:
 *
 *   node -r @swc-node/register tools/fake-amapi/main.ts
 *
 * Environment: FAKE_AMAPI_PORT (default 3010), FAKE_AMAPI_TOKEN (default fake-amapi-token),
 * PUBSUB_PUSH_ENDPOINT, PUBSUB_AUDIENCE (default: the push endpoint), FAKE_AMAPI_AUTO_APPLY
 * (default on; "0" turns it off), FAKE_AMAPI_DISCOVERY (path of the discovery document).
 * Prints `FAKE_AMAPI_READY <url>` once listening; enterprise `enterprises/LC00demo` exists.
 */
import { startFakeAmapi } from './fake-amapi';

async function main(): Promise<void> {
  const port = Number(process.env.FAKE_AMAPI_PORT ?? 3010);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`FAKE_AMAPI_PORT: not a port: ${process.env.FAKE_AMAPI_PORT}`);
  const fake = await startFakeAmapi({
    port,
    accessToken: process.env.FAKE_AMAPI_TOKEN || undefined,
    discoveryPath: process.env.FAKE_AMAPI_DISCOVERY || undefined,
    pubsub: {
      pushEndpoint: process.env.PUBSUB_PUSH_ENDPOINT || undefined,
      audience: process.env.PUBSUB_AUDIENCE || undefined,
    },
    enterprises: ['enterprises/LC00demo'],
    autoApply: process.env.FAKE_AMAPI_AUTO_APPLY !== '0',
  });
  console.log(`FAKE_AMAPI_READY ${fake.url}`);
  console.log(`  access token:   ${fake.accessToken}`);
  console.log(`  enterprise:     enterprises/LC00demo`);
  console.log(
    `  pubsub JWKS:    ${fake.pubsubJwksUrl} (iss https://accounts.google.com, email ${fake.pubsubServiceAccountEmail})`,
  );
  console.log(`  pubsub push:    ${fake.pubsub.pushEndpoint ?? '(none: set PUBSUB_PUSH_ENDPOINT)'}`);
  console.log(
    `  control:        POST ${fake.url}_fake/enroll {"enrollmentTokenValue":"…","installedApps":["…"]}, POST ${fake.url}_fake/applyPolicies, GET ${fake.url}_fake/state`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void fake.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
