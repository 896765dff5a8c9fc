import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import request from 'supertest';
import { createMdmPushCertificate, createTestCa } from '../../tools/apple-sim/pki';
import { BODY_LIMIT_BYTES, countRows, startTestApp, TestApp } from './support/test-app';

const UI_INDEX = resolve(__dirname, '../../admin-ui/dist/index.html');

function expectSecurityHeaders(res: request.Response): void {
  const csp = String(res.headers['content-security-policy']);
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).not.toContain('unsafe-eval');
  expect(res.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-powered-by']).toBeUndefined();
}

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('are on API answers, errors included', async () => {
    expectSecurityHeaders(await (await t.as('agent.interieur')).get('/me').expect(200));
    expectSecurityHeaders(await (await t.as()).get('/me').expect(401));
    expectSecurityHeaders(await (await t.as()).get('/no-such-route').expect(404));
    expectSecurityHeaders(
      await (
        await t.as('agent.interieur')
      )
        .post('/exemptions')
        .send({ justification: 'x'.repeat(BODY_LIMIT_BYTES) })
        .expect(413),
    );
  });

  it('are on the admin interface, whose page loads only scripts and styles of its own origin', async () => {
    const res = await (await t.as()).get('/');
    expectSecurityHeaders(res);
    if (!existsSync(UI_INDEX)) return; // the interface is not built (npm run build): the API answers alone
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    // script-src 'self' and no inline script: every script is a file of this origin.
    const html = readFileSync(UI_INDEX, 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(body.trim()).toBe('');
      expect(attributes).toMatch(/src="\.?\/[^/]/);
    }
    for (const [, href] of html.matchAll(/<link\b[^>]*href="([^"]+)"/g)) expect(href).toMatch(/^\.?\/[^/]/);
    const script = /src="\.?(\/[^"]+)"/.exec(scripts[0][1])?.[1] ?? '';
    expectSecurityHeaders(await (await t.as()).get(script).expect(200));
  });
});

describe('rate limits per client', () => {
  const limits = { windowSeconds: 4, perUser: 5, perIp: 3 };
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ rateLimit: limits });
  });
  afterAll(() => t.close());

  it('answer 429 with Retry-After and a readable message past the limit, to that person only, and nothing is written', async () => {
    const agent = await t.as('agent.interieur');
    for (let i = 0; i < limits.perUser; i++) {
      const ok = await agent.get('/me').expect(200);
      expect(Number(ok.headers['x-ratelimit-remaining'])).toBe(limits.perUser - 1 - i);
    }
    const refused = await agent.get('/me').expect(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(limits.windowSeconds);
    expect(refused.body).toMatchObject({
      statusCode: 429,
      code: 'request.rate-limited',
      details: { limit: limits.perUser, windowSeconds: limits.windowSeconds },
    });
    expect(refused.body.message).toMatch(
      /^Too many requests from your account: at most 5 every 4 s\. Try again in \d s\.$/,
    );
    expectSecurityHeaders(refused);

    const before = await countRows(t.db, 'exemption');
    const write = await agent
      .post('/exemptions')
      .send({ app: 'x', justification: 'Animation du compte officiel du ministère', days: 30 })
      .expect(429);
    expect(write.body.code).toBe('request.rate-limited');
    expect(await countRows(t.db, 'exemption')).toBe(before);

    // Same address (127.0.0.1), another person: their own budget.
    await (await t.as('approver.interieur')).get('/me').expect(200);

    // The limit slides: once the window has passed, the agent is served again.
    await new Promise((ok) => setTimeout(ok, (limits.windowSeconds + 0.5) * 1000));
    await agent.get('/me').expect(200);
  });

  it('count anonymous requests per address, without touching signed-in people on that address', async () => {
    const anonymous = await t.as();
    for (let i = 0; i < limits.perIp; i++) await anonymous.post('/auth/logout').expect(204);
    const refused = await anonymous.post('/auth/logout').expect(429);
    expect(refused.body.message).toMatch(/^Too many requests from your address/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await (await t.as('it.interieur')).get('/me').expect(200);
  });

  it('leave health checks and metrics alone (probes, scrapers)', async () => {
    const anonymous = await t.as();
    for (let i = 0; i < limits.perIp + 3; i++) {
      await anonymous.get('/health').expect(200);
      await anonymous.get('/metrics').expect(200);
    }
  });
});

describe('body size', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('an oversized JSON or YAML body gets 413 with a readable message, and nothing is written', async () => {
    const exemptions = await countRows(t.db, 'exemption');
    const plans = await countRows(t.db, 'policy_plan');
    const audit = await countRows(t.db, 'audit_event');

    const json = await (
      await t.as('agent.interieur')
    )
      .post('/exemptions')
      .send({ app: 'x', justification: 'Animation du compte officiel. '.repeat(10_000), days: 30 })
      .expect(413);
    expect(json.body).toMatchObject({ statusCode: 413, code: 'request.too-large' });
    expect(json.body.message).toBe(
      `The request body is too large (at most ${BODY_LIMIT_BYTES.toLocaleString('en')} bytes): send less at once.`,
    );

    const yaml = await (
      await t.as('it.culture')
    )
      .post('/policies/culture/plan')
      .set('Content-Type', 'application/yaml')
      .send(`mode: blocklist\nrules: []\ndescription: "${'x'.repeat(BODY_LIMIT_BYTES)}"\n`)
      .expect(413);
    expect(yaml.body.code).toBe('request.too-large');

    expect(await countRows(t.db, 'exemption')).toBe(exemptions);
    expect(await countRows(t.db, 'policy_plan')).toBe(plans);
    expect(await countRows(t.db, 'audit_event')).toBe(audit);
  });
});

describe('Apple enrollment profile downloads', () => {
  const limits = { windowSeconds: 60, perUser: 1000, perIp: 2 };
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      rateLimit: limits,
      apple: {
        serverBaseUrl: 'http://127.0.0.1:9',
        apnsHost: '127.0.0.1',
        apnsPort: 9,
        identityFrom: 'signature',
        proxyCertHeader: 'X-Client-Certificate',
      },
    });
    const push = createMdmPushCertificate(createTestCa('Apple Sim Root CA'));
    await (
      await t.as('admin.national')
    )
      .put('/apple/push-certificate')
      .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
      .expect(200);
  });
  afterAll(() => t.close());

  it('are counted per enrollment link, not per address: a whole office enrolls from one address, one link cannot be hammered', async () => {
    const it = await t.as('it.interieur');
    const links: string[] = [];
    for (let i = 0; i < limits.perIp + 2; i++) {
      const link = await it
        .post('/ministries/interieur/apple/enrollment-links')
        .send({ expiresInHours: 24 })
        .expect(201);
      links.push(new URL(link.body.url as string).pathname);
    }
    // More phones than the per-address budget, all from this one address: each gets its profile.
    for (const path of links) {
      const res = await (await t.as()).get(path).expect(200);
      expect(res.headers['content-type']).toContain('application/x-apple-aspen-config');
    }
    // The same link again: its own budget runs out.
    await (await t.as()).get(links[0]).expect(200);
    const refused = await (await t.as()).get(links[0]).expect(429);
    expect(refused.body).toMatchObject({ code: 'request.rate-limited' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });
});
