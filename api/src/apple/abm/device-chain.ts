import { X509Certificate } from 'node:crypto';
import { pemCertificates } from '../cms/cms-write';
import { APPLE_DEVICE_ROOTS_PEM } from './apple-device-roots';

/** The trust anchors of ADE machine information: the configured PEM, else Apple's. */
export function deviceAnchors(pem: string | undefined): X509Certificate[] {
  const anchors = pemCertificates(pem ?? APPLE_DEVICE_ROOTS_PEM).map((der) => new X509Certificate(der));
  if (anchors.length === 0) throw new Error('ADE_DEVICE_CA_FILE holds no PEM certificate');
  return anchors;
}

/** Longest path walked from the signer: Apple's is device → Device CA → iPhone CA → root. */
const MAX_DEPTH = 6;

function same(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw) || (a.subject === b.subject && a.publicKey.equals(b.publicKey));
}

/**
 * Whether `signerPem` chains to one of `anchors`, through the certificates the message carried
 * (`carried`) or the anchors themselves: each link's issuer name matches and its signature
 * verifies with the issuer's key. Validity dates are not checked: Apple's device CAs expired long
 * ago (2014) and still issue the identities iPhones sign with, and Apple says to ignore them.
 * Returns null when chained, else why not (for the refusal's sentence).
 */
export function chainProblem(signerPem: string, carried: string[], anchors: X509Certificate[]): string | null {
  let current: X509Certificate;
  try {
    current = new X509Certificate(signerPem);
  } catch {
    return 'the signer certificate cannot be read';
  }
  const pool = [
    ...anchors,
    ...carried.flatMap((pem) => {
      try {
        return [new X509Certificate(pem)];
      } catch {
        return [];
      }
    }),
  ];
  const signer = current.subject.replace(/\n/g, ', ');
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (anchors.some((a) => same(a, current))) return null;
    const issuer = pool.find((c) => !same(c, current) && current.checkIssued(c) && current.verify(c.publicKey));
    if (!issuer) return `the signer (${signer}) is not issued by a trusted device CA`;
    current = issuer;
  }
  return 'the signer certificate chain is too long';
}
