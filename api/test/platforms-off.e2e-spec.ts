import { startTestApp, TestApp } from './support/test-app';

/**
 * A server started without Android (no Google credentials) and without the Apple MDM server: the
 * routes a person calls from the console say the platform is not configured and which settings the
 * operator must set, instead of Express's 404 "Cannot POST …"; still signed-in and per-ministry.
 */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t?.close();
});

describe('Android not configured', () => {
  it('answers 409 android.not-configured naming the settings, on each route of the console', async () => {
    const it = await t.as('it.interieur');
    const calls = [
      it.post('/ministries/interieur/android/enrollment-tokens').send({ personalUsage: 'allowed' }),
      it.get('/ministries/interieur/android/enterprise'),
      it.put('/ministries/interieur/android/enterprise').send({ enterpriseName: 'enterprises/LC0123abcd' }),
      it.get('/ministries/interieur/android/health'),
      it.get('/ministries/interieur/android/unknown-devices'),
    ];
    for (const call of calls) {
      const res = await call.expect(409);
      expect(res.body.code).toBe('android.not-configured');
      expect(res.body.message).toContain('GOOGLE_APPLICATION_CREDENTIALS');
      expect(res.body.message).not.toContain('Cannot');
    }
  });

  it('still requires a signed-in caller with access to the ministry', async () => {
    const anonymous = await t.as();
    const res = await anonymous.post('/ministries/interieur/android/enrollment-tokens').send({}).expect(401);
    expect(res.body.code).not.toBe('android.not-configured');
    const other = await t.as('it.armees');
    const denied = await other.post('/ministries/interieur/android/enrollment-tokens').send({}).expect(403);
    expect(denied.body.code).toBe('auth.forbidden');
    const agent = await t.as('agent.interieur');
    await agent.post('/ministries/interieur/android/enrollment-tokens').send({}).expect(403);
  });
});

describe('Apple MDM not configured', () => {
  it('answers 409 apple.not-configured naming APPLE_MDM for enrollment links and the push certificate', async () => {
    const it = await t.as('it.interieur');
    for (const call of [
      it.post('/ministries/interieur/apple/enrollment-links').send({ expiresInHours: 72 }),
      it.get('/ministries/interieur/apple/enrollment-links'),
    ]) {
      const res = await call.expect(409);
      expect(res.body.code).toBe('apple.not-configured');
      expect(res.body.message).toContain('APPLE_MDM');
    }
    const national = await t.as('admin.national');
    const upload = await national.put('/apple/push-certificate').send({}).expect(409);
    expect(upload.body.code).toBe('apple.not-configured');
  });

  it('refuses a caller without access to the ministry first', async () => {
    const other = await t.as('it.armees');
    await other.post('/ministries/interieur/apple/enrollment-links').send({}).expect(403);
    await (await t.as()).post('/ministries/interieur/apple/enrollment-links').send({}).expect(401);
  });
});
