import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appleSettingsFrom, ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies defaults for a bare environment', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.OIDC_AUDIENCE).toBe('mdm-apps-api');
    expect(config.DATABASE_URL).toBeUndefined();
  });
  it('fails fast naming every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', OIDC_ISSUER: 'not a url' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL must look like postgres://');
    expect(message).toContain('OIDC_ISSUER');
  });
  it('reads DB_POOL_SIZE through the same validation as every other setting', () => {
    expect(loadConfig({}).DB_POOL_SIZE).toBe(20);
    expect(loadConfig({ DB_POOL_SIZE: '6' }).DB_POOL_SIZE).toBe(6);
    expect(() => loadConfig({ DB_POOL_SIZE: '0' })).toThrow(/DB_POOL_SIZE/);
  });
  it('documents every setting in the README', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    const keys = Object.keys(loadConfig({}));
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.filter((key) => !readme.includes(key))).toEqual([]);
  });
});

describe('demo defaults (issue 16, item 11)', () => {
  it('are on for a local demo only', () => {
    expect(loadConfig({})).toMatchObject({ DEMO_DATA: true, DEVICE_SIMULATOR: true });
  });

  it('are off with a database of its own or in production, unless asked for', () => {
    for (const env of [{ DATABASE_URL: 'postgres://u:p@db:5432/mdm' }, { NODE_ENV: 'production' }]) {
      expect(loadConfig(env)).toMatchObject({ DEMO_DATA: false, DEVICE_SIMULATOR: false });
      expect(loadConfig({ ...env, DEMO_DATA: 'true', DEVICE_SIMULATOR: 'true' })).toMatchObject({
        DEMO_DATA: true,
        DEVICE_SIMULATOR: true,
      });
    }
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({ DEMO_DATA: true, DEVICE_SIMULATOR: true });
  });

  it('never simulate phones beside a real platform connector: off by default, refused when asked for', () => {
    const connectors = [
      { AMAPI_ACCESS_TOKEN: 'fake-amapi-token', PUBSUB_SUBSCRIPTION: 'projects/p/subscriptions/amapi' },
      { GOOGLE_APPLICATION_CREDENTIALS: '/etc/mdm/sa.json', PUBSUB_SUBSCRIPTION: 'projects/p/subscriptions/amapi' },
      { APPLE_MDM: 'true' },
    ];
    for (const env of connectors) {
      expect(loadConfig(env)).toMatchObject({ DEMO_DATA: true, DEVICE_SIMULATOR: false });
      expect(() => loadConfig({ ...env, DEVICE_SIMULATOR: 'true' })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, DEVICE_SIMULATOR: '1' })).toThrow(
        /DEVICE_SIMULATOR=true would simulate phones beside a real platform connector \((Android Enterprise|the Apple MDM server)\)/,
      );
    }
  });
});

describe('Android status reports (issue 14 item 4)', () => {
  const android = { GOOGLE_APPLICATION_CREDENTIALS: '/etc/mdm/sa.json' };
  const push = {
    PUBSUB_SERVICE_ACCOUNT: 'amapi-push@p.iam.gserviceaccount.com',
    PUBSUB_AUDIENCE: 'https://mdm/android/pubsub',
  };

  it('refuses to start in push mode without the expected service account and audience', () => {
    for (const env of [android, { ...android, ANDROID_REPORTS: 'push' }]) {
      expect(() => loadConfig(env)).toThrow(
        /receives status reports by Pub\/Sub push only with PUBSUB_SERVICE_ACCOUNT and PUBSUB_AUDIENCE set/,
      );
      expect(() => loadConfig({ ...env, PUBSUB_SERVICE_ACCOUNT: push.PUBSUB_SERVICE_ACCOUNT })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, PUBSUB_AUDIENCE: push.PUBSUB_AUDIENCE })).toThrow(ConfigError);
      expect(loadConfig({ ...env, ...push })).toMatchObject({ ANDROID_REPORTS: 'push' });
    }
    // Without Android, nothing is asked.
    expect(loadConfig({}).ANDROID_REPORTS).toBe('push');
  });

  it('pulls when a subscription is configured, and needs one to pull', () => {
    const subscription = 'projects/mdm-etat/subscriptions/amapi';
    expect(loadConfig({ ...android, PUBSUB_SUBSCRIPTION: subscription })).toMatchObject({
      ANDROID_REPORTS: 'pull',
      PUBSUB_SUBSCRIPTION: subscription,
      PUBSUB_ROOT_URL: 'https://pubsub.googleapis.com/',
    });
    expect(() => loadConfig({ ...android, ANDROID_REPORTS: 'pull' })).toThrow(
      /ANDROID_REPORTS=pull needs PUBSUB_SUBSCRIPTION/,
    );
    expect(() => loadConfig({ ...android, PUBSUB_SUBSCRIPTION: 'amapi' })).toThrow(
      /PUBSUB_SUBSCRIPTION must look like projects\/<project>\/subscriptions\/<subscription>/,
    );
    expect(() => loadConfig({ ...android, ANDROID_REPORTS: 'both' })).toThrow(/ANDROID_REPORTS must be pull or push/);
  });
});

describe('https MDM URLs in production (issue 15)', () => {
  const production = { NODE_ENV: 'production', APPLE_MDM: 'true' };

  it('refuses to start the Apple MDM server in production on an http:// or missing public URL', () => {
    expect(() => loadConfig({ ...production, MDM_SERVER_URL: 'http://mdm.interieur.gouv.fr' })).toThrow(
      /In production \(NODE_ENV=production\) iPhones must reach the Apple MDM server over https: MDM_SERVER_URL is http:\/\/mdm\.interieur\.gouv\.fr/,
    );
    expect(() => loadConfig({ ...production, PUBLIC_URL: 'http://mdm.interieur.gouv.fr' })).toThrow(
      /PUBLIC_URL is http:\/\/mdm\.interieur\.gouv\.fr/,
    );
    expect(() => loadConfig(production)).toThrow(/needs MDM_SERVER_URL \(or PUBLIC_URL\)/);
  });

  it('accepts https in production, and http outside production or without the Apple MDM server', () => {
    const config = loadConfig({ ...production, MDM_SERVER_URL: 'https://mdm.interieur.gouv.fr/' });
    expect(appleSettingsFrom(config)).toMatchObject({
      serverBaseUrl: 'https://mdm.interieur.gouv.fr',
      production: true,
    });
    // An http admin interface with https MDM endpoints is the proxy's business, not the iPhones'.
    expect(() =>
      loadConfig({ ...production, PUBLIC_URL: 'http://admin', MDM_SERVER_URL: 'https://mdm.gouv.fr' }),
    ).not.toThrow();
    expect(appleSettingsFrom(loadConfig({ APPLE_MDM: 'true', MDM_SERVER_URL: 'http://127.0.0.1:3000' }))).toMatchObject(
      { serverBaseUrl: 'http://127.0.0.1:3000', production: false },
    );
    expect(() => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'http://admin' })).not.toThrow();
  });

  it('refuses an ADE_DEVICE_CA_FILE that cannot be read or holds no certificate', () => {
    expect(() => loadConfig({ ADE_DEVICE_CA_FILE: '/nonexistent/device-ca.pem' })).toThrow(
      /ADE_DEVICE_CA_FILE cannot be read \(ENOENT\)/,
    );
    expect(() => loadConfig({ ADE_DEVICE_CA_FILE: join(__dirname, '../../../README.md') })).toThrow(
      /ADE_DEVICE_CA_FILE \(.*README\.md\) holds no PEM certificate/,
    );
  });

  it('reads the ABM sync period and the device CA the machine information must chain to', () => {
    expect(loadConfig({}).ABM_SYNC_PERIOD_MINUTES).toBe(60);
    expect(() => loadConfig({ ABM_SYNC_PERIOD_MINUTES: '0' })).toThrow(/ABM_SYNC_PERIOD_MINUTES/);
    expect(appleSettingsFrom(loadConfig({ APPLE_MDM: 'true', ABM_SYNC_PERIOD_MINUTES: '15' }))).toMatchObject({
      syncPeriodMinutes: 15,
      deviceCaPem: undefined,
    });
  });
});
