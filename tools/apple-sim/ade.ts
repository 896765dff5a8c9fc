/**
 * What an iPhone in Setup Assistant does with the `url` of its Automated Device Enrollment
 * profile: it POSTs its machine information (a plist with UDID, SERIAL, PRODUCT, VERSION…) as a
 * CMS SignedData, signed with the device identity Apple issued it at activation (under "Apple
 * iPhone Device CA", which it carries in the message), over https only, and installs the
 * enrollment profile it gets back.
 *
 * Here the "Apple iPhone Device CA" is a test CA (`createAppleDeviceCa`): the service under test is
 * configured to trust it (ADE_DEVICE_CA_FILE) instead of Apple's.
 */
import { get as httpsGet, request as httpsRequest } from 'node:https';
import plist from 'plist';
import { signAttached } from './cms';
import { createIdentity, createTestCa, Identity, TestCa } from './pki';

export interface MachineInfo {
  UDID: string;
  SERIAL: string;
  PRODUCT?: string;
  VERSION?: string;
  LANGUAGE?: string;
  IMEI?: string;
}

/** A stand-in for Apple's "Apple iPhone Device CA", issuing simulated iPhones' device identities. */
export function createAppleDeviceCa(): TestCa {
  return createTestCa('Apple iPhone Device CA (apple-sim)');
}

/** The identity Apple gives an iPhone at activation (CN = a UUID, as on real devices). */
export function createDeviceIdentity(deviceCa: TestCa, udid: string): Identity {
  return createIdentity(deviceCa, udid);
}

/** The machine information as the phone posts it: signed, the device CA carried beside its certificate. */
export function signMachineInfo(info: MachineInfo, identity: Identity, deviceCa: TestCa): Buffer {
  const entries = Object.entries(info).filter(([, v]) => v !== undefined) as [string, string][];
  return signAttached(plist.build(Object.fromEntries(entries)), identity, {
    extraCertificatesPem: [deviceCa.certPem],
  });
}

export interface AdeProfileAnswer {
  status: number;
  contentType: string;
  /** As received: a signed profile is DER, not text. */
  body: Buffer;
}

/**
 * POSTs the signed machine information to the profile's `url`. Like Setup Assistant, refuses
 * anything but https, and trusts only `ca` (the server's CA) when given, else the system's.
 */
export async function requestAdeProfile(
  url: string,
  body: Buffer,
  tls: { ca?: string } = {},
): Promise<AdeProfileAnswer> {
  const target = new URL(url);
  if (target.protocol !== 'https:') throw new Error(`an iPhone fetches its ADE profile over https only, not ${url}`);
  return new Promise<AdeProfileAnswer>((resolve, reject) => {
    const req = httpsRequest(
      target,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/pkcs7-signature', 'Content-Length': String(body.length) },
        ca: tls.ca,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer after 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What Safari does with an enrollment link over https: downloads the profile, trusting `ca` when given. */
export async function downloadProfile(url: string, tls: { ca?: string } = {}): Promise<AdeProfileAnswer> {
  return new Promise<AdeProfileAnswer>((resolve, reject) => {
    const req = httpsGet(url, { ca: tls.ca, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer after 30 s`)));
    req.on('error', reject);
  });
}
