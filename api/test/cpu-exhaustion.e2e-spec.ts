/**
 * CPU exhaustion (issue 16, item 8): a 400,000-`[` YAML plan held the event loop 3.4 s (100,000 of
 * them crashed the process in the YAML library), a 1 MB nested plist check-in 1.2 s. Nesting and
 * size are bounded by a linear pre-scan before any parser runs, so such bodies are refused in
 * milliseconds while /health keeps answering. (Check-ins are also limited per device identity:
 * api/test/rate-limits.e2e-spec.ts.)
 */
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';
import { signDetached } from '../../tools/apple-sim/cms';
import { AppleFixtures, prepareAppleFixtures, tokensFor } from './support/fuzz-targets';
import { BODY_LIMIT_BYTES, countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
let server: Server;
let fx: AppleFixtures;

beforeAll(async () => {
  t = await startTestApp({
    apple: {
      serverBaseUrl: 'http://127.0.0.1:9',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
  });
  server = t.app.getHttpServer() as Server;
  fx = await prepareAppleFixtures(
    { server, db: t.db, token: t.token },
    await tokensFor({ server, db: t.db, token: t.token }),
  );
}, 60_000);
afterAll(() => t.close());

/** The longest the event loop was held while `run` ran, and whether /health answered meanwhile. */
async function blocking<T>(run: () => Promise<T>): Promise<{ result: T; maxBlockMs: number; healthMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const started = Date.now();
  const health = request(server)
    .get('/health')
    .then(() => Date.now() - started);
  const result = await run();
  const healthMs = await health;
  histogram.disable();
  return { result, maxBlockMs: histogram.max / 1e6, healthMs };
}

it('refuses a YAML plan nested 95,000 deep (as deep as the body limit allows) at once, naming the problem', async () => {
  const depth = Math.floor((BODY_LIMIT_BYTES - 100) / 2);
  const body = `mode: blocklist\nrules: []\nextra: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`;
  const token = await t.token('it.culture');
  const plans = await countRows(t.db, 'policy_plan');
  const { result, maxBlockMs, healthMs } = await blocking(() =>
    request(server)
      .post('/policies/culture/plan')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/yaml')
      .send(body),
  );
  expect(result.status).toBe(400);
  expect(JSON.stringify(result.body)).toMatch(/nested too deeply \(more than 32 levels\)/);
  console.log(
    `YAML ${depth} deep: refused, event loop held at most ${Math.round(maxBlockMs)} ms, /health in ${healthMs} ms`,
  );
  expect(maxBlockMs).toBeLessThan(400);
  expect(await countRows(t.db, 'policy_plan')).toBe(plans);
});

it('refuses a huge flat YAML plan (more entries than any policy) before parsing it', async () => {
  const body = `mode: blocklist\nrules: []\nextra: [${'1,'.repeat(60_000)}1]\n`;
  const res = await (
    await t.as('it.culture')
  )
    .post('/policies/culture/plan')
    .set('Content-Type', 'application/yaml')
    .send(body)
    .expect(400);
  expect(JSON.stringify(res.body)).toMatch(/more than 40,000 entries: no policy is that large/);
});

it('refuses a signed check-in whose plist is nested as deep as the body limit allows, before parsing it', async () => {
  const depth = Math.floor((BODY_LIMIT_BYTES - 400) / 15);
  const body = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>MessageType</key><string>Authenticate</string><key>UDID</key><string>${fx.device.udid}</string><key>Extra</key>${'<array>'.repeat(depth)}<string>x</string>${'</array>'.repeat(depth)}</dict></plist>`,
  );
  expect(body.length).toBeLessThan(BODY_LIMIT_BYTES);
  const { result, maxBlockMs, healthMs } = await blocking(() =>
    request(server)
      .put('/mdm/checkin')
      .set('Content-Type', 'application/x-apple-aspen-mdm-checkin')
      .set('Mdm-Signature', signDetached(body, fx.device.identity))
      .send(body),
  );
  expect(result.status).toBe(400);
  expect(result.body).toMatchObject({ code: 'apple.malformed-plist' });
  expect(result.body.message).toMatch(/nested too deeply \(more than 32 levels\)/);
  console.log(
    `plist ${depth} deep: refused, event loop held at most ${Math.round(maxBlockMs)} ms, /health in ${healthMs} ms`,
  );
  expect(maxBlockMs).toBeLessThan(400);
});
