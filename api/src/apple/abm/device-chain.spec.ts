import { X509Certificate } from 'node:crypto';
import { createIdentity, createTestCa } from '../../../../tools/apple-sim/pki';
import { chainProblem, deviceAnchors } from './device-chain';

/**
 * A real iPhone's device identity (CN = its activation UUID), issued 2021-10-11 by Apple iPhone
 * Device CA and expired 2024: the certificate iPhones sign with, as captured in public repositories.
 */
const REAL_IPHONE_DEVICE_CERT = `-----BEGIN CERTIFICATE-----
MIIC8zCCAlygAwIBAgIKAlKu1qgdFrqsmzANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJVUzETMBEGA1UEChMKQXBwbGUg
SW5jLjEVMBMGA1UECxMMQXBwbGUgaVBob25lMR8wHQYDVQQDExZBcHBsZSBpUGhvbmUgRGV2aWNlIENBMB4XDTIxMTAxMTE4
NDczMVoXDTI0MTAxMTE4NDczMVowgYMxLTArBgNVBAMWJDE2MEQzRkExLUM3RDUtNEY4NS04NDQ4LUM1Q0EzQzgxMTE1NTEL
MAkGA1UEBhMCVVMxCzAJBgNVBAgTAkNBMRIwEAYDVQQHEwlDdXBlcnRpbm8xEzARBgNVBAoTCkFwcGxlIEluYy4xDzANBgNV
BAsTBmlQaG9uZTCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkCgYEAtwSqyzyAWm4aa/uEr7kB52xdLLKkSEOu/9W03wK1blBe
qfbHXL+9Dfq/MhcXrA5qU5iorSz9OrMyjQDtZOSVZPfz9Xo89PATHvXgG+I7gIVVnXwCMmie7BhY3ki9NeZgL68UxXDjNdBf
6kpQEQYnHMR4z17blla9Hyxq4TPvwDECAwEAAaOBlTCBkjAfBgNVHSMEGDAWgBSy/iEjRIaVannVgSaOcxDYp0yOdDAdBgNV
HQ4EFgQURyh+oArXlcLvCzG4m5/QxwUFzzMwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCBaAwIAYDVR0lAQH/BBYwFAYI
KwYBBQUHAwEGCCsGAQUFBwMCMBAGCiqGSIb3Y2QGCgIEAgUAMA0GCSqGSIb3DQEBBQUAA4GBAKwB9DGwHsinZu78lk6kx7zv
wH5d0/qqV1+4Hz8EG3QMkAOkMruSRkh8QphF+tNhP7y93A2kDHeBSFWk/3Zy/7riB/dwl94W7vCox/0EJDJ+L2SXvtB2VEv8
klzQ0swHYRV9+rUCBWSglGYlTNxfAsgBCIsm8O1Qr5SnIhwfutc4
-----END CERTIFICATE-----`;

describe('ADE machine information: the signer chains to a trusted device CA', () => {
  const apple = deviceAnchors(undefined);

  it("bundles Apple's root and iPhone CAs, the root being the one Apple publishes", () => {
    expect(apple.map((c) => c.subject.match(/CN=(.*)/)?.[1])).toEqual([
      'Apple Root CA',
      'Apple iPhone Certification Authority',
      'Apple iPhone Device CA',
    ]);
    expect(apple[0].fingerprint256).toBe(
      'B0:B1:73:0E:CB:C7:FF:45:05:14:2C:49:F1:29:5E:6E:DA:6B:CA:ED:7E:2C:68:C5:BE:91:B5:A1:10:01:F0:24',
    );
    // Each bundled certificate is signed by the one before it (the root by itself).
    expect(apple[0].verify(apple[0].publicKey)).toBe(true);
    expect(apple[1].verify(apple[0].publicKey)).toBe(true);
    expect(apple[2].verify(apple[1].publicKey)).toBe(true);
  });

  it("accepts a real iPhone's device certificate under Apple's anchors, expired dates and SHA-1 included", () => {
    expect(chainProblem(REAL_IPHONE_DEVICE_CERT, [], apple)).toBeNull();
    // Only the root trusted: the chain goes through the Device CA the message carries.
    expect(chainProblem(REAL_IPHONE_DEVICE_CERT, [apple[2].toString(), apple[1].toString()], [apple[0]])).toBeNull();
    expect(chainProblem(REAL_IPHONE_DEVICE_CERT, [], [apple[0]])).toMatch(/is not issued by a trusted device CA/);
  });

  it('refuses a signer from another CA, even one that calls itself Apple iPhone Device CA, or that carries its CA', () => {
    const impostor = createTestCa('Apple iPhone Device CA');
    const device = createIdentity(impostor, 'F2L000000001');
    expect(chainProblem(device.certPem, [impostor.certPem], apple)).toMatch(
      /the signer \(CN=F2L000000001, O=apple-sim\) is not issued by a trusted device CA/,
    );
    expect(chainProblem(device.certPem, [], deviceAnchors(impostor.certPem))).toBeNull();
    expect(chainProblem('not a certificate', [], apple)).toBe('the signer certificate cannot be read');
  });

  it('reads the anchors of ADE_DEVICE_CA_FILE, and refuses a file without any', () => {
    const ca = createTestCa('Apple iPhone Device CA (test)');
    expect(deviceAnchors(`${ca.certPem}\n${apple[0].toString()}`).map((c) => c instanceof X509Certificate)).toEqual([
      true,
      true,
    ]);
    expect(() => deviceAnchors('no certificate here')).toThrow(/ADE_DEVICE_CA_FILE holds no PEM certificate/);
  });
});
