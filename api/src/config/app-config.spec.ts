import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

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
