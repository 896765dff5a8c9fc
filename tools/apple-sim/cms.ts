/**
 * CMS (PKCS#7) SignedData as an Apple device makes it, for the simulator and the tests:
 *
 * - `signDetached(body, identity)`: the `Mdm-Signature` header of a device request: base64 of a
 *   DER ContentInfo(SignedData) whose encapsulated content (id-data) is absent, signed with the
 *   device identity (RSA PKCS#1 v1.5, SHA-256), the signer certificate included, signed
 *   attributes contentType, signingTime, messageDigest (in DER SET OF order).
 * - `signAttached(content, identity)`: the same with the content inside (a signed .mobileconfig).
 *
 * The structure is built and encoded by node-forge; only the RSA operation is node:crypto's.
 * Verification is the service's (api/src/apple/cms/cms.ts, PKI.js), re-exported here.
 */
import { constants, createPrivateKey, privateEncrypt } from 'node:crypto';
import forge from 'node-forge';

export * from '../../api/src/apple/cms/cms';

export interface Signer {
  certPem: string;
  keyPem: string;
}

export interface SignOptions {
  /** Default: now. */
  signingTime?: Date;
  /** Also put these certificates (PEM) in the SignedData, e.g. the issuing CA. */
  extraCertificatesPem?: string[];
  /** Default 'sha256'. */
  digest?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
}

const { asn1 } = forge;

/** DER DigestInfo (RFC 8017 9.2) of a finished forge digest, encoded by forge. */
function digestInfo(md: forge.md.MessageDigest): Buffer {
  const oid = forge.pki.oids[md.algorithm];
  if (!oid) throw new Error(`unsupported digest ${md.algorithm}`);
  const info = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, md.digest().getBytes()),
  ]);
  return Buffer.from(asn1.toDer(info).getBytes(), 'binary');
}

/**
 * A stand-in for a forge RSA private key whose `sign` (the only method forge's PKCS#7 signer
 * calls) does RSASSA-PKCS1-v1_5 with node:crypto: ~1 ms instead of ~20 ms of pure JS.
 */
function nodeBackedRsaKey(keyPem: string): forge.pki.rsa.PrivateKey {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`CMS signing needs an RSA key (got ${key.asymmetricKeyType})`);
  const signer = {
    sign(md: forge.md.MessageDigest, scheme?: string): string {
      if (scheme !== undefined && scheme !== 'RSASSA-PKCS1-V1_5') throw new Error(`unsupported scheme ${scheme}`);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo(md)).toString('binary');
    },
  };
  return signer as unknown as forge.pki.rsa.PrivateKey;
}

interface PreparedSigner {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

/** Parsed signers, per identity object (a device signs every request with the same one). */
const parsedSigners = new WeakMap<Signer, PreparedSigner>();

function prepared(signer: Signer): PreparedSigner {
  let entry = parsedSigners.get(signer);
  if (!entry || entry.certPem !== signer.certPem || entry.keyPem !== signer.keyPem) {
    entry = {
      certPem: signer.certPem,
      keyPem: signer.keyPem,
      cert: forge.pki.certificateFromPem(signer.certPem),
      key: nodeBackedRsaKey(signer.keyPem),
    };
    parsedSigners.set(signer, entry);
  }
  return entry;
}

function signedData(content: Buffer, signer: Signer, detached: boolean, options: SignOptions): Buffer {
  const { cert, key } = prepared(signer);
  const p7 = forge.pkcs7.createSignedData();
  // A ByteBuffer of the raw bytes: a string would be UTF-8 encoded again by forge.
  p7.content = forge.util.createBuffer(content.toString('binary'));
  p7.addCertificate(cert);
  for (const pem of options.extraCertificatesPem ?? []) p7.addCertificate(pem);
  const digestOid = forge.pki.oids[options.digest ?? 'sha256'];
  p7.addSigner({
    key,
    certificate: cert,
    digestAlgorithm: digestOid,
    // In DER SET OF order (by encoding: these three sort by their length octet), so that verifiers
    // that re-encode the attributes (OpenSSL) hash the same bytes as the ones signed.
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType, value: forge.pki.oids.data },
      // forge's typings say string, but it takes (and formats) a Date.
      { type: forge.pki.oids.signingTime, value: (options.signingTime ?? new Date()) as unknown as string },
      { type: forge.pki.oids.messageDigest },
    ],
  });
  p7.sign({ detached });
  return Buffer.from(asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
}

/** base64 DER CMS SignedData over `body`, content detached: the `Mdm-Signature` header value. */
export function signDetached(body: Buffer | string, signer: Signer, options: SignOptions = {}): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return signedData(bytes, signer, true, options).toString('base64');
}

/** DER CMS SignedData with the content inside (e.g. a signed .mobileconfig). */
export function signAttached(data: Buffer | string, signer: Signer, options: SignOptions = {}): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return signedData(bytes, signer, false, options);
}
