/**
 * CMS (PKCS#7) SignedData as Apple MDM uses it.
 *
 * - `signDetached(body, identity)`: the `Mdm-Signature` header of a device request: base64 of a
 *   DER ContentInfo(SignedData) whose encapsulated content (id-data) is absent, signed with the
 *   device identity (RSA PKCS#1 v1.5, SHA-256), the signer certificate included, signed
 *   attributes contentType, signingTime, messageDigest (in DER SET OF order). Made with
 *   node-forge.
 * - `signAttached(content, identity)`: the same with the content inside (a signed .mobileconfig).
 * - `verifyDetachedSignature(body, signatureBase64)`: the server-side check of `Mdm-Signature`
 *   (strict; see the README). `verifySignedData(der)`: the same for attached content.
 *
 * Verification parses the DER itself (./der.ts, exact bytes kept) and checks with node:crypto,
 * so RSA and ECDSA signers both work (forge can neither verify PKCS#7 nor read EC keys).
 */
import {
  constants,
  createHash,
  createPrivateKey,
  KeyObject,
  privateEncrypt,
  verify as cryptoVerify,
  X509Certificate,
} from 'node:crypto';
import forge from 'node-forge';
import {
  certificateNames,
  children,
  content,
  decodeOid,
  decodeSmallInteger,
  decodeTime,
  DerError,
  is,
  octets,
  parseSingle,
  raw,
  subjectKeyIdentifier,
  TagClass,
  Tlv,
  UniversalTag,
} from './der';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
} as const;

export type DigestName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const DIGESTS: Record<string, DigestName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** signatureAlgorithm OIDs: key family and the digest they imply (null: the SignerInfo's digestAlgorithm). */
const SIGNATURE_ALGORITHMS: Record<string, { family: 'rsa' | 'ec'; digest: DigestName | null }> = {
  [OID.rsaEncryption]: { family: 'rsa', digest: null },
  '1.2.840.113549.1.1.5': { family: 'rsa', digest: 'sha1' },
  '1.2.840.113549.1.1.11': { family: 'rsa', digest: 'sha256' },
  '1.2.840.113549.1.1.12': { family: 'rsa', digest: 'sha384' },
  '1.2.840.113549.1.1.13': { family: 'rsa', digest: 'sha512' },
  [OID.ecPublicKey]: { family: 'ec', digest: null },
  '1.2.840.10045.4.1': { family: 'ec', digest: 'sha1' },
  '1.2.840.10045.4.3.2': { family: 'ec', digest: 'sha256' },
  '1.2.840.10045.4.3.3': { family: 'ec', digest: 'sha384' },
  '1.2.840.10045.4.3.4': { family: 'ec', digest: 'sha512' },
};

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

export interface VerifyOptions {
  /** Digest algorithms accepted (default sha1, sha256, sha384, sha512: older iOS versions sign with SHA-1). */
  acceptedDigests?: DigestName[];
}

export interface CmsVerifyResult {
  ok: boolean;
  /** The signer certificate (PEM), when the signature is valid. */
  certificatePem?: string;
  /** Why verification failed. */
  reason?: string;
  /** All certificates carried in the SignedData (PEM), the signer's included. */
  certificatesPem?: string[];
  digestAlgorithm?: DigestName;
  /** The signingTime signed attribute, if present. */
  signingTime?: Date;
}

export interface CmsAttachedResult extends CmsVerifyResult {
  /** The encapsulated content (also when the signature is invalid, if it could be read). */
  content?: Buffer;
}

/** DER prefixes of DigestInfo (RFC 8017 9.2 note 1) by forge digest name. */
const DIGEST_INFO_PREFIX: Record<string, Buffer> = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

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
      const prefix = DIGEST_INFO_PREFIX[md.algorithm];
      if (!prefix) throw new Error(`unsupported digest ${md.algorithm}`);
      const digestInfo = Buffer.concat([prefix, Buffer.from(md.digest().getBytes(), 'binary')]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
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
  return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
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

interface ParsedSignedData {
  eContent: Buffer | undefined;
  certificates: Buffer[];
  signerInfos: Tlv[];
}

function parseSignedData(der: Buffer): ParsedSignedData {
  const contentInfo = parseSingle(der);
  if (!is(contentInfo, TagClass.universal, UniversalTag.sequence, true))
    throw new DerError('ContentInfo is not a SEQUENCE');
  const [contentType, explicit] = children(contentInfo);
  if (!contentType || decodeOid(contentType) !== OID.signedData) throw new DerError('ContentInfo is not id-signedData');
  if (!explicit || !is(explicit, TagClass.context, 0, true)) throw new DerError('ContentInfo without [0] content');
  const [sd] = children(explicit);
  if (!sd || !is(sd, TagClass.universal, UniversalTag.sequence, true))
    throw new DerError('SignedData is not a SEQUENCE');
  const parts = children(sd);
  // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
  if (parts.length < 4) throw new DerError('SignedData too short');
  decodeSmallInteger(parts[0]);
  if (!is(parts[1], TagClass.universal, UniversalTag.set, true)) throw new DerError('digestAlgorithms is not a SET');
  const encap = parts[2];
  if (!is(encap, TagClass.universal, UniversalTag.sequence, true))
    throw new DerError('encapContentInfo is not a SEQUENCE');
  const [eContentType, eContentExplicit] = children(encap);
  if (!eContentType || decodeOid(eContentType) !== OID.data)
    throw new DerError('encapsulated content type is not id-data');
  let eContent: Buffer | undefined;
  if (eContentExplicit) {
    if (!is(eContentExplicit, TagClass.context, 0, true)) throw new DerError('bad eContent');
    const [octetString] = children(eContentExplicit);
    if (!octetString) throw new DerError('empty eContent');
    eContent = octets(octetString);
  }
  const certificates: Buffer[] = [];
  let signerInfosTlv: Tlv | undefined;
  for (const part of parts.slice(3)) {
    if (is(part, TagClass.context, 0, true)) {
      for (const c of children(part)) {
        if (is(c, TagClass.universal, UniversalTag.sequence, true)) certificates.push(Buffer.from(raw(c)));
      }
    } else if (is(part, TagClass.context, 1, true)) {
      // crls: ignored
    } else if (is(part, TagClass.universal, UniversalTag.set, true)) {
      signerInfosTlv = part;
    } else {
      throw new DerError('unexpected element in SignedData');
    }
  }
  if (!signerInfosTlv) throw new DerError('SignedData without signerInfos');
  return { eContent, certificates, signerInfos: children(signerInfosTlv) };
}

function algorithmOid(tlv: Tlv | undefined, what: string): string {
  if (!tlv || !is(tlv, TagClass.universal, UniversalTag.sequence, true))
    throw new DerError(`${what} is not an AlgorithmIdentifier`);
  const [oid] = children(tlv);
  if (!oid) throw new DerError(`${what} is empty`);
  return decodeOid(oid);
}

function pem(der: Buffer): string {
  return new X509Certificate(der).toString();
}

function findSignerCertificate(sid: Tlv, certificates: Buffer[]): Buffer | undefined {
  if (is(sid, TagClass.universal, UniversalTag.sequence, true)) {
    // IssuerAndSerialNumber
    const [issuer, serial] = children(sid);
    if (!issuer || !serial) throw new DerError('bad IssuerAndSerialNumber');
    return certificates.find((der) => {
      const names = certificateNames(der);
      return raw(names.issuer).equals(raw(issuer)) && content(names.serial).equals(content(serial));
    });
  }
  if (is(sid, TagClass.context, 0, false)) {
    // [0] SubjectKeyIdentifier
    const ski = content(sid).toString('hex');
    return certificates.find((der) => subjectKeyIdentifier(der) === ski);
  }
  throw new DerError('unknown SignerIdentifier');
}

function keyFamily(key: KeyObject): 'rsa' | 'ec' | 'other' {
  return key.asymmetricKeyType === 'rsa' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : 'other';
}

/** Core of both verifications: `data` is the signed content (detached or encapsulated). */
function verifyParsed(parsed: ParsedSignedData, data: Buffer, options: VerifyOptions): CmsVerifyResult {
  const accepted = options.acceptedDigests ?? ['sha1', 'sha256', 'sha384', 'sha512'];
  const certificatesPem: string[] = [];
  for (const der of parsed.certificates) {
    try {
      certificatesPem.push(pem(der));
    } catch {
      return { ok: false, reason: 'unreadable certificate in SignedData' };
    }
  }
  if (parsed.signerInfos.length !== 1)
    return {
      ok: false,
      reason: `expected exactly one SignerInfo, found ${parsed.signerInfos.length}`,
      certificatesPem,
    };
  const fields = children(parsed.signerInfos[0]);
  // version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1] unsignedAttrs?
  let i = 0;
  decodeSmallInteger(fields[i++]);
  const sid = fields[i++];
  const digestOid = algorithmOid(fields[i++], 'digestAlgorithm');
  let signedAttrs: Tlv | undefined;
  if (fields[i] && is(fields[i], TagClass.context, 0, true)) signedAttrs = fields[i++];
  const signatureOid = algorithmOid(fields[i++], 'signatureAlgorithm');
  const signatureTlv = fields[i++];
  if (!signatureTlv || !is(signatureTlv, TagClass.universal, UniversalTag.octetString))
    throw new DerError('SignerInfo without signature');
  const signature = octets(signatureTlv);
  if (fields[i] && !is(fields[i], TagClass.context, 1, true)) throw new DerError('unexpected element in SignerInfo');

  const digest = DIGESTS[digestOid];
  if (!digest) return { ok: false, reason: `unsupported digest algorithm ${digestOid}`, certificatesPem };
  if (!accepted.includes(digest))
    return { ok: false, reason: `digest algorithm ${digest} not accepted`, certificatesPem };
  const algorithm = SIGNATURE_ALGORITHMS[signatureOid];
  if (!algorithm) return { ok: false, reason: `unsupported signature algorithm ${signatureOid}`, certificatesPem };
  if (algorithm.digest !== null && algorithm.digest !== digest) {
    return {
      ok: false,
      reason: `signature algorithm digest ${algorithm.digest} differs from digestAlgorithm ${digest}`,
      certificatesPem,
    };
  }

  const signerDer = findSignerCertificate(sid, parsed.certificates);
  if (!signerDer) return { ok: false, reason: 'signer certificate not included in the SignedData', certificatesPem };
  const signerCert = new X509Certificate(signerDer);
  const publicKey = signerCert.publicKey;
  if (keyFamily(publicKey) !== algorithm.family) {
    return {
      ok: false,
      reason: `signature algorithm ${signatureOid} does not fit the ${publicKey.asymmetricKeyType} key of the signer`,
      certificatesPem,
    };
  }

  let signedBytes: Buffer;
  let signingTime: Date | undefined;
  const contentDigest = createHash(digest).update(data).digest();
  if (signedAttrs) {
    const seen = new Set<string>();
    let messageDigest: Buffer | undefined;
    let contentTypeOk = false;
    for (const attribute of children(signedAttrs)) {
      const [typeTlv, valuesTlv] = children(attribute);
      if (!typeTlv || !valuesTlv || !is(valuesTlv, TagClass.universal, UniversalTag.set, true))
        throw new DerError('bad Attribute');
      const type = decodeOid(typeTlv);
      if (seen.has(type)) return { ok: false, reason: `signed attribute ${type} appears twice`, certificatesPem };
      seen.add(type);
      const values = children(valuesTlv);
      if (type === OID.messageDigest || type === OID.contentType || type === OID.signingTime) {
        if (values.length !== 1)
          return { ok: false, reason: `signed attribute ${type} must have exactly one value`, certificatesPem };
      }
      if (type === OID.messageDigest) messageDigest = octets(values[0]);
      if (type === OID.contentType) contentTypeOk = decodeOid(values[0]) === OID.data;
      if (type === OID.signingTime) signingTime = decodeTime(values[0]);
    }
    if (!contentTypeOk)
      return { ok: false, reason: 'signed attribute contentType missing or not id-data', certificatesPem };
    if (!messageDigest) return { ok: false, reason: 'signed attribute messageDigest missing', certificatesPem };
    if (!messageDigest.equals(contentDigest))
      return { ok: false, reason: 'messageDigest does not match the content', certificatesPem };
    // The signature covers the DER of the attributes with an explicit SET tag, not the [0] IMPLICIT one.
    signedBytes = Buffer.from(raw(signedAttrs));
    signedBytes[0] = 0x31;
  } else {
    signedBytes = data;
  }

  let valid: boolean;
  try {
    valid = cryptoVerify(digest, signedBytes, publicKey, signature);
  } catch (error) {
    return { ok: false, reason: `signature check failed: ${(error as Error).message}`, certificatesPem };
  }
  if (!valid) return { ok: false, reason: 'bad signature', certificatesPem };
  return { ok: true, certificatePem: signerCert.toString(), certificatesPem, digestAlgorithm: digest, signingTime };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verifies a detached CMS signature (the `Mdm-Signature` header) over the exact request body.
 * Checks: base64 and DER well-formed; ContentInfo id-signedData; encapsulated content type id-data
 * and content absent; exactly one SignerInfo; its certificate (by issuer+serial or SKI) present in
 * the SignedData; digest accepted; if signed attributes are present: contentType = id-data,
 * messageDigest = hash(body), no duplicate attribute, and the signature verifies over the DER of
 * the signed attributes re-tagged as SET; without signed attributes the signature is over the body.
 * It does NOT check the certificate's chain, validity dates or revocation: the caller must check
 * that the returned certificate belongs to the device (enrolled identity / trusted CA).
 */
export function verifyDetachedSignature(
  body: Buffer | string,
  signatureBase64: string,
  options: VerifyOptions = {},
): CmsVerifyResult {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const compact = (signatureBase64 ?? '').replace(/\s+/g, '');
  if (compact.length === 0) return { ok: false, reason: 'empty signature' };
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return { ok: false, reason: 'signature is not base64' };
  try {
    const parsed = parseSignedData(Buffer.from(compact, 'base64'));
    if (parsed.eContent !== undefined)
      return { ok: false, reason: 'the signature is not detached (it encapsulates content)' };
    return verifyParsed(parsed, data, options);
  } catch (error) {
    if (error instanceof DerError) return { ok: false, reason: `malformed CMS: ${error.message}` };
    return { ok: false, reason: `malformed CMS: ${(error as Error).message}` };
  }
}

/** Verifies a CMS SignedData with encapsulated content (e.g. a signed profile) and returns the content. */
export function verifySignedData(der: Buffer, options: VerifyOptions = {}): CmsAttachedResult {
  try {
    const parsed = parseSignedData(der);
    if (parsed.eContent === undefined) return { ok: false, reason: 'no encapsulated content' };
    return { ...verifyParsed(parsed, parsed.eContent, options), content: parsed.eContent };
  } catch (error) {
    return { ok: false, reason: `malformed CMS: ${(error as Error).message}` };
  }
}

/** True if `data` looks like DER CMS SignedData (a SEQUENCE starting with the id-signedData OID). */
export function looksLikeSignedData(data: Buffer): boolean {
  try {
    const tlv = parseSingle(data);
    const [first] = children(tlv);
    return first !== undefined && decodeOid(first) === OID.signedData;
  } catch {
    return false;
  }
}
