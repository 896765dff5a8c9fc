import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServerCertificate, createTestCa } from '../../../../tools/apple-sim/pki';
import { appleSettingsFrom, ConfigError, loadConfig } from '../../config/app-config';

/** The settings of signed enrollment profiles and SCEP, checked at start-up. */
describe('APPLE_PROFILE_SIGNING_* and APPLE_IDENTITY_DELIVERY', () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-signing-'));
  const ca = createTestCa('Host CA');
  const host = createServerCertificate(ca, ['mdm.example.gouv.fr']);
  const other = createServerCertificate(ca, ['other.example.gouv.fr']);
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const cert = file('host.pem', `${host.certPem}${ca.certPem}`);
  const key = file('host.key', host.keyPem);
  const otherKey = file('other.key', other.keyPem);

  it('defaults to PKCS#12 identities and a signer of the service’s own CA', () => {
    const settings = appleSettingsFrom(loadConfig({ APPLE_MDM: 'true' }));
    expect(settings?.identityDelivery).toBe('pkcs12');
    expect(settings?.profileSigning).toBeUndefined();
    expect(
      appleSettingsFrom(loadConfig({ APPLE_MDM: 'true', APPLE_IDENTITY_DELIVERY: 'scep' }))?.identityDelivery,
    ).toBe('scep');
    expect(() => loadConfig({ APPLE_IDENTITY_DELIVERY: 'p12' })).toThrow(
      /APPLE_IDENTITY_DELIVERY must be pkcs12 or scep/,
    );
  });

  it('takes a certificate (with its chain) and its key', () => {
    const settings = appleSettingsFrom(
      loadConfig({ APPLE_MDM: 'true', APPLE_PROFILE_SIGNING_CERT_FILE: cert, APPLE_PROFILE_SIGNING_KEY_FILE: key }),
    );
    expect(settings?.profileSigning).toEqual({ certPem: `${host.certPem}${ca.certPem}`, keyPem: host.keyPem });
  });

  it('refuses one without the other, a key of another certificate, an unreadable file', () => {
    expect(() => loadConfig({ APPLE_PROFILE_SIGNING_CERT_FILE: cert })).toThrow(/go together/);
    expect(() =>
      loadConfig({ APPLE_PROFILE_SIGNING_CERT_FILE: cert, APPLE_PROFILE_SIGNING_KEY_FILE: otherKey }),
    ).toThrow(/is not the private key of the first certificate/);
    expect(() => loadConfig({ APPLE_PROFILE_SIGNING_CERT_FILE: key, APPLE_PROFILE_SIGNING_KEY_FILE: key })).toThrow(
      ConfigError,
    );
    expect(() =>
      loadConfig({ APPLE_PROFILE_SIGNING_CERT_FILE: join(dir, 'missing.pem'), APPLE_PROFILE_SIGNING_KEY_FILE: key }),
    ).toThrow(/cannot be read/);
  });
});
