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
});
