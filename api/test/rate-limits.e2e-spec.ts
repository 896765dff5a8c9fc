/**
 * Rate limits that hold with several replicas (issue 16, items 6, 8 and 10): the counters live in
 * PostgreSQL, so two API processes on one database share each client's budget and a restart does
 * not reset it; Apple MDM messages are counted per device identity; failed enrollment-link lookups
 * count against the address.
 */
import type { Server } from 'node:http';
import request from 'supertest';
import { signDetached } from '../../tools/apple-sim/cms';
import { buildPlist } from '../../tools/apple-sim/mobileconfig';
import { AppleSettings } from '../src/apple/apple-settings';
import { RateLimitSettings } from '../src/security/rate-limit-settings';
import { AppleFixtures, prepareAppleFixtures, tokensFor } from './support/fuzz-targets';
import { startTestApp, TestApp } from './support/test-app';

const APPLE: AppleSettings = {
  serverBaseUrl: 'http://127.0.0.1:9',
  apnsHost: '127.0.0.1',
  apnsPort: 9,
  identityFrom: 'signature',
  proxyCertHeader: 'X-Client-Certificate',
};

describe('two API replicas on one database', () => {
  const limits: RateLimitSettings = { windowSeconds: 30, perUser: 6, perIp: 4, perDevice: 1000 };
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ rateLimit: limits });
    b = await startTestApp({ databaseUrl: a.databaseUrl, rateLimit: limits });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  it("share each person's budget: requests spread over both count once, and both refuse past it", async () => {
    const onA = await a.as('agent.interieur');
    const onB = await b.as('agent.interieur');
    for (let i = 0; i < limits.perUser; i++) {
      const res = await (i % 2 === 0 ? onA : onB).get('/me').expect(200);
      expect(Number(res.headers['x-ratelimit-remaining'])).toBe(limits.perUser - 1 - i);
    }
    const refusedA = await onA.get('/me').expect(429);
    const refusedB = await onB.get('/me').expect(429);
    for (const refused of [refusedA, refusedB]) {
      expect(refused.body.code).toBe('request.rate-limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(limits.windowSeconds);
    }
    // Someone else, on either replica, has a budget of their own.
    await (await b.as('approver.interieur')).get('/me').expect(200);
  });

  it('share the budget of an address without sign-in, and keep it across a restart of a replica', async () => {
    for (let i = 0; i < limits.perIp; i++) await (await (i % 2 ? a : b).as()).post('/auth/logout').expect(204);
    await (await a.as()).post('/auth/logout').expect(429);
    await b.stop();
    b = await startTestApp({ databaseUrl: a.databaseUrl, rateLimit: limits });
    const refused = await (await b.as()).post('/auth/logout').expect(429);
    expect(refused.body.message).toMatch(/^Too many requests from your address/);
  });

  it('count concurrent requests exactly: 20 at once on two replicas, exactly the budget gets through', async () => {
    const onA = await a.as('it.interieur');
    const onB = await b.as('it.interieur');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).get('/me')));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(limits.perUser);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - limits.perUser);
  });
});

describe('Apple MDM messages', () => {
  const limits: RateLimitSettings = { windowSeconds: 30, perUser: 1000, perIp: 1000, perDevice: 5 };
  let t: TestApp;
  let fx: AppleFixtures;
  beforeAll(async () => {
    t = await startTestApp({ apple: APPLE, rateLimit: limits });
    const host = { server: t.app.getHttpServer() as Server, db: t.db, token: t.token };
    fx = await prepareAppleFixtures(host, await tokensFor(host));
  }, 60_000);
  afterAll(() => t.close());

  function idle(device: AppleFixtures['device']): request.Test {
    const body = Buffer.from(buildPlist({ UDID: device.udid, Status: 'Idle' }));
    return request(t.app.getHttpServer() as Server)
      .put('/mdm/server')
      .set('Content-Type', 'application/x-apple-aspen-mdm')
      .set('Mdm-Signature', signDetached(body, device.identity))
      .send(body);
  }

  it('are limited per device identity, before the body is parsed: 429 with Retry-After, other phones unaffected', async () => {
    // Enrollment (Authenticate, TokenUpdate) already counted 2 messages of each device.
    for (let i = 2; i < limits.perDevice!; i++) await idle(fx.device).expect(200);
    const refused = await idle(fx.device).expect(429);
    expect(refused.body).toMatchObject({ code: 'apple.too-many-messages', details: { limit: 5, windowSeconds: 30 } });
    expect(refused.body.message).toMatch(/^Too many MDM messages from this device: at most 5 every 30 s\./);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Even a body that would take long to parse is refused before it is read.
    const deep = Buffer.from(
      `<plist><dict><key>UDID</key>${'<array>'.repeat(5000)}${'</array>'.repeat(5000)}</dict></plist>`,
    );
    await request(t.app.getHttpServer() as Server)
      .put('/mdm/server')
      .set('Content-Type', 'application/x-apple-aspen-mdm')
      .set('Mdm-Signature', signDetached(deep, fx.device.identity))
      .send(deep)
      .expect(429);
    await idle(fx.other).expect(200);
  });
});

describe('Apple enrollment links', () => {
  const limits: RateLimitSettings = { windowSeconds: 30, perUser: 1000, perIp: 3, perDevice: 1000 };
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ apple: APPLE, rateLimit: limits });
    const host = { server: t.app.getHttpServer() as Server, db: t.db, token: t.token };
    await (await t.as('admin.national')).get('/me').expect(200);
    await prepareAppleFixtures(host, await tokensFor(host));
  }, 60_000);
  afterAll(() => t.close());

  it('count failed lookups against the address: once over, even a valid link is refused from there', async () => {
    const link = await (
      await t.as('it.interieur')
    )
      .post('/ministries/interieur/apple/enrollment-links')
      .send({ expiresInHours: 24 })
      .expect(201);
    const valid = new URL(link.body.url as string).pathname;
    for (let i = 0; i < limits.perIp; i++) {
      const miss = await (await t.as()).get(`/apple/enroll/guess-${i}`).expect(404);
      expect(miss.body.code).toBe('apple.unknown-enrollment');
    }
    const refused = await (await t.as()).get(valid).expect(429);
    expect(refused.body).toMatchObject({ code: 'request.rate-limited' });
    expect(refused.body.message).toMatch(/^Too many requests from your address/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await (await t.as()).get('/apple/enroll/guess-again').expect(429);
  });
});
