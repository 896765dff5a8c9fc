/**
 * Verification of CMS (PKCS#7) SignedData as Apple MDM uses it:
 * - `verifyDetachedSignature(body, signatureBase64)`: the server-side check of the `Mdm-Signature`
 *   header of every device request (strict; see tools/apple-sim/README.md);
 * - `verifySignedData(der)`: the same for a SignedData with the content inside (a signed profile);
 * - `looksLikeSignedData(data)`: whether bytes are a CMS SignedData at all.
 *
 * No hand-written ASN.1: the DER (or BER) is decoded by asn1js and checked against PKI.js's
 * schemas of ContentInfo, SignedData, SignerInfo, IssuerAndSerialNumber and Attribute (RFC 5652);
 * certificates are read by PKI.js and node:crypto. The signature itself is checked with
 * node:crypto (RSA and ECDSA signers both work), synchronously.
 *
 * Speed (this runs on every check-in and command poll; asn1js decoding is most of the cost): the
 * schemas are built once, the certificates a device sends are read once (kept by the SHA-256 of
 * their DER), and a device's next messages have only their SignerInfo decoded (see "Known
 * prefixes"). Both caches are bounded.
 */
import * as asn1js from 'asn1js';
import { createHash, KeyObject, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { Attribute, Certificate, ContentInfo, SignedData, SignerInfo } from 'pkijs';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  subjectKeyIdentifier: '2.5.29.14',
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

/** A structure that is not the CMS it should be: the verification refuses it as malformed. */
class MalformedCms extends Error {}

// ---------------------------------------------------------------------------------------------
// Decoding: asn1js, checked against PKI.js's schemas (built once: building them costs far more
// than matching them). The names below are where asn1js.compareSchema puts the matched elements.

type Block = asn1js.AsnType;
type Matched = Record<string, Block | Block[] | undefined>;

const CONTENT_INFO = ContentInfo.schema({ names: { contentType: 'contentType', content: 'content' } });
const SIGNED_DATA = SignedData.schema({
  names: {
    encapContentInfo: { names: { eContentType: 'eContentType', eContent: 'eContent' } },
    signerInfos: 'signerInfos',
  },
});
const SIGNER_INFO = SignerInfo.schema({
  names: {
    sidSchema: { names: { blockName: 'sid', issuer: { names: { blockName: 'issuer' } }, serialNumber: 'serial' } },
    sid: 'sid',
    digestAlgorithm: { names: { algorithmIdentifier: 'digestAlgorithm' } },
    signedAttrs: { names: { blockName: 'signedAttrs', tagNumber: 0, attributes: 'signedAttributes' } },
    signatureAlgorithm: { names: { algorithmIdentifier: 'signatureAlgorithm' } },
    signature: 'signature',
    unsignedAttrs: { names: { blockName: 'unsignedAttrs', tagNumber: 1 } },
  },
});
const ATTRIBUTE = Attribute.schema({ names: { type: 'type', values: 'values' } });

/** Limits for untrusted input (a header value or an uploaded profile): nesting and elements. */
const MAX_DEPTH = 64;
const MAX_NODES = 10_000;

interface Decoded {
  block: Block;
  /** Elements decoded (what asn1js counts against `maxNodes`). */
  nodes: number;
  /** Whether some element has an indefinite length. */
  indefinite: boolean;
}

/**
 * Exactly one BER element (DER, or BER with indefinite lengths); trailing bytes are an error. asn1js
 * reads an element's children to their own lengths without checking that they end where the
 * element's length says, nor that an indefinite length ends with end-of-contents: both are refused
 * here, from the lengths asn1js recorded.
 */
function decode(bytes: Uint8Array, maxDepth = MAX_DEPTH, maxNodes = MAX_NODES): Decoded {
  const { offset, result } = asn1js.fromBER(bytes, { maxDepth, maxNodes, parseEmbedded: false });
  if (offset === -1 || result.error) throw new MalformedCms(result.error || 'unreadable ASN.1');
  if (offset !== bytes.byteLength)
    throw new MalformedCms(`${bytes.byteLength - offset} trailing bytes after the ASN.1 element`);
  let nodes = 0;
  let indefinite = false;
  const pending: Block[] = [result];
  for (let block = pending.pop(); block !== undefined; block = pending.pop()) {
    nodes++;
    if (!block.idBlock.isConstructed) continue;
    const value = block.valueBlock as asn1js.ValueBlock;
    if (block.lenBlock.isIndefiniteForm) {
      indefinite = true;
      if (value.warnings.includes('No EndOfContent block encoded'))
        throw new MalformedCms('indefinite length without end-of-contents');
    } else if (value.blockLength !== block.lenBlock.length) {
      throw new MalformedCms('ASN.1 element overruns its length');
    }
    pending.push(...children(block));
  }
  return { block: result, nodes, indefinite };
}

/**
 * The named parts of `block`, or an error if it does not match. compareSchema only sets properties
 * on its root: a fresh object each time (PKI.js passes the block itself, where a second match
 * would append to the arrays of the first).
 */
function match(block: Block, schema: Block, what: string): Matched {
  const matched: Matched = {};
  if (!asn1js.compareSchema(matched as unknown as Block, block, schema).verified)
    throw new MalformedCms(`${what} does not match its schema`);
  return matched;
}

function one(matched: Matched, name: string, what: string): Block {
  const block = matched[name];
  if (block === undefined || Array.isArray(block)) throw new MalformedCms(`${what} missing`);
  return block;
}

function many(matched: Matched, name: string): Block[] {
  const blocks = matched[name];
  return Array.isArray(blocks) ? blocks : [];
}

/** The elements inside a constructed element (a primitive one has none; asn1js keeps an OID's arcs in `value`). */
function children(block: Block): Block[] {
  if (!block.idBlock.isConstructed) return [];
  const value: unknown = (block.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as Block[]) : [];
}

/** Tag class of an element as asn1js numbers it: 1 universal, 3 context-specific. */
function isTagged(block: Block | undefined, tagClass: number, tagNumber: number): boolean {
  return block !== undefined && block.idBlock.tagClass === tagClass && block.idBlock.tagNumber === tagNumber;
}

function oid(block: Block, what: string): string {
  if (!(block instanceof asn1js.ObjectIdentifier)) throw new MalformedCms(`${what} is not an OBJECT IDENTIFIER`);
  return block.valueBlock.toString();
}

/** The bytes of an OCTET STRING, a constructed (BER) one concatenated. */
function octets(block: Block, what: string): Buffer {
  if (!(block instanceof asn1js.OctetString)) throw new MalformedCms(`${what} is not an OCTET STRING`);
  if (!block.idBlock.isConstructed) return Buffer.from(block.valueBlock.valueHexView);
  return Buffer.concat(children(block).map((part) => octets(part, what)));
}

/** The exact bytes an element was decoded from (identifier, length, content). */
function raw(block: Block): Buffer {
  return Buffer.from(block.valueBeforeDecodeView);
}

function time(block: Block): Date {
  if (!(block instanceof asn1js.UTCTime) && !(block instanceof asn1js.GeneralizedTime))
    throw new MalformedCms('signingTime is not a UTCTime or GeneralizedTime');
  const date = block.toDate();
  if (block.error || Number.isNaN(date.getTime())) throw new MalformedCms('unreadable signingTime');
  return date;
}

interface ParsedSignedData {
  eContent: Buffer | undefined;
  /** Certificates (the CHOICE `certificate`; attribute and other certificates are ignored), DER. */
  certificates: Buffer[];
  signerInfos: Block[];
  /** The signerInfos already matched against the SignerInfo schema, when they were. */
  matchedSignerInfos?: Matched[];
}

/** The whole ContentInfo decoded and matched. A detached SignedData's prefix is remembered (below). */
function parseSignedData(der: Uint8Array): ParsedSignedData {
  const decoded = decode(der);
  const contentInfo = match(decoded.block, CONTENT_INFO, 'ContentInfo');
  if (oid(one(contentInfo, 'contentType', 'contentType'), 'contentType') !== OID.signedData)
    throw new MalformedCms('ContentInfo is not id-signedData');
  const signedDataBlock = one(contentInfo, 'content', 'SignedData');
  const signedData = match(signedDataBlock, SIGNED_DATA, 'SignedData');
  if (oid(one(signedData, 'eContentType', 'eContentType'), 'eContentType') !== OID.data)
    throw new MalformedCms('encapsulated content type is not id-data');
  const eContentBlock = signedData.eContent;
  const eContent =
    eContentBlock === undefined || Array.isArray(eContentBlock) ? undefined : octets(eContentBlock, 'eContent');
  // The schema stops at its last element: nothing may follow (version, digestAlgorithms,
  // encapContentInfo, [0] certificates?, [1] crls?, signerInfos).
  const fields = children(signedDataBlock);
  const optional = fields.filter((f) => isTagged(f, 3, 0) || isTagged(f, 3, 1)).length;
  if (fields.length !== 4 + optional) throw new MalformedCms('unexpected element in SignedData');
  // PKI.js's CertificateSet schema names its elements `certificates`.
  const certificates = many(signedData, 'certificates')
    .filter((c) => isTagged(c, 1, 16))
    .map(raw);
  const parsed = { eContent, certificates, signerInfos: many(signedData, 'signerInfos') };
  if (eContent === undefined && !decoded.indefinite) remember(der, decoded, fields[fields.length - 1], parsed);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Known prefixes. A device sends the same SignedData with every request but for its SignerInfo
// (signing time, message digest, signature), which comes last: the same bytes up to the
// signerInfos SET, and the same total length. Decoding those bytes again would give the same
// elements, matched the same way: so once a detached SignedData has been decoded whole, its
// prefix (by SHA-256, with the offset of signerInfos and the total length) and what was read from
// it are kept, and a later message with that prefix and length has only its signerInfos decoded
// (asn1js, with the depth and element budget that remained) and matched against PKI.js's
// SignerInfo schema. Anything that does not fit, or fails, is decoded whole as above, so the
// outcome is always the whole decoding's. (A Mdm-Signature has about 100 elements, 34 of them in
// signerInfos: this makes a verification about 2.4 times cheaper than decoding it whole.)

interface KnownPrefix {
  certificates: Buffer[];
  /** Elements asn1js may still decode in the signerInfos (MAX_NODES less the prefix's). */
  nodeBudget: number;
}

/** ContentInfo → [0] → SignedData → signerInfos: the nesting depth of the signerInfos SET. */
const SIGNER_INFOS_DEPTH = 3;
const PREFIX_CACHE_SIZE = 10_000;
/** By `total length:offset:SHA-256 of the prefix`. Oldest first (Map order). */
const knownPrefixes = new Map<string, KnownPrefix>();
/** The signerInfos offsets seen for a total length (a few at most). */
const prefixOffsets = new Map<number, number[]>();

function prefixKey(der: Uint8Array, offset: number): string {
  const hash = createHash('sha256').update(der.subarray(0, offset)).digest('base64');
  return `${der.byteLength}:${offset}:${hash}`;
}

function countNodes(block: Block): number {
  let nodes = 0;
  const pending: Block[] = [block];
  for (let b = pending.pop(); b !== undefined; b = pending.pop()) {
    nodes++;
    pending.push(...children(b));
  }
  return nodes;
}

function remember(der: Uint8Array, decoded: Decoded, signerInfos: Block, parsed: ParsedSignedData): void {
  const offset = signerInfos.valueBeforeDecodeView.byteOffset - decoded.block.valueBeforeDecodeView.byteOffset;
  if (offset <= 0 || offset + signerInfos.valueBeforeDecodeView.byteLength !== der.byteLength) return;
  const key = prefixKey(der, offset);
  if (knownPrefixes.has(key)) return;
  if (knownPrefixes.size >= PREFIX_CACHE_SIZE) {
    const oldest = knownPrefixes.keys().next().value;
    if (oldest !== undefined) knownPrefixes.delete(oldest);
  }
  knownPrefixes.set(key, {
    certificates: parsed.certificates,
    nodeBudget: MAX_NODES - (decoded.nodes - countNodes(signerInfos)),
  });
  const offsets = prefixOffsets.get(der.byteLength) ?? [];
  if (!offsets.includes(offset)) {
    if (offsets.length >= 4) offsets.shift();
    offsets.push(offset);
    if (prefixOffsets.size >= PREFIX_CACHE_SIZE) {
      const oldest = prefixOffsets.keys().next().value;
      if (oldest !== undefined) prefixOffsets.delete(oldest);
    }
    prefixOffsets.set(der.byteLength, offsets);
  }
}

/** The detached SignedData read from a known prefix and its own signerInfos, or undefined. */
function parseWithKnownPrefix(der: Uint8Array): ParsedSignedData | undefined {
  for (const offset of prefixOffsets.get(der.byteLength) ?? []) {
    const known = knownPrefixes.get(prefixKey(der, offset));
    if (!known) continue;
    try {
      const set = decode(der.subarray(offset), MAX_DEPTH - SIGNER_INFOS_DEPTH, known.nodeBudget).block;
      if (!isTagged(set, 1, 17) || !set.idBlock.isConstructed) return undefined;
      const signerInfos = children(set);
      const matchedSignerInfos = signerInfos.map((signerInfo) => match(signerInfo, SIGNER_INFO, 'SignerInfo'));
      return { eContent: undefined, certificates: known.certificates, signerInfos, matchedSignerInfos };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Certificates: parsed once per distinct DER (a device sends the same one with every request).

interface KnownCertificate {
  pem: string;
  publicKey: KeyObject;
  /** DER of the issuer Name, exactly as in the certificate. */
  issuer: Buffer;
  /** Content octets of the serialNumber INTEGER. */
  serial: Buffer;
  /** Subject Key Identifier (hex), or null. */
  ski: string | null;
}

const CERTIFICATE_CACHE_SIZE = 10_000;
/** By SHA-256 of the DER; null for a certificate that could not be read. Oldest first (Map order). */
const certificateCache = new Map<string, KnownCertificate | null>();

function readCertificate(der: Buffer): KnownCertificate | null {
  try {
    const x509 = new X509Certificate(der);
    const certificate = Certificate.fromBER(der);
    const skiExtension = certificate.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
    const skiValue: unknown = skiExtension?.parsedValue;
    return {
      pem: x509.toString(),
      publicKey: x509.publicKey,
      issuer: Buffer.from(certificate.issuer.valueBeforeDecode),
      serial: Buffer.from(certificate.serialNumber.valueBlock.valueHexView),
      ski:
        skiValue instanceof asn1js.OctetString ? Buffer.from(skiValue.valueBlock.valueHexView).toString('hex') : null,
    };
  } catch {
    return null;
  }
}

function knownCertificate(der: Buffer): KnownCertificate | null {
  const key = createHash('sha256').update(der).digest('base64');
  let entry = certificateCache.get(key);
  if (entry === undefined) {
    entry = readCertificate(der);
    if (certificateCache.size >= CERTIFICATE_CACHE_SIZE) {
      const oldest = certificateCache.keys().next().value;
      if (oldest !== undefined) certificateCache.delete(oldest);
    }
    certificateCache.set(key, entry);
  }
  return entry;
}

function findSigner(signerInfo: Matched, certificates: KnownCertificate[]): KnownCertificate | undefined {
  const sid = one(signerInfo, 'sid', 'SignerIdentifier');
  if (isTagged(sid, 1, 16)) {
    // IssuerAndSerialNumber: the issuer Name compared byte for byte, the serial by its content octets.
    const issuer = raw(one(signerInfo, 'issuer', 'IssuerAndSerialNumber issuer'));
    const serial = one(signerInfo, 'serial', 'IssuerAndSerialNumber serial');
    if (!(serial instanceof asn1js.Integer)) throw new MalformedCms('serialNumber is not an INTEGER');
    return certificates.find((c) => c.issuer.equals(issuer) && c.serial.equals(serial.valueBlock.valueHexView));
  }
  if (isTagged(sid, 3, 0) && !sid.idBlock.isConstructed) {
    // [0] IMPLICIT SubjectKeyIdentifier
    const ski = Buffer.from((sid as asn1js.Primitive).valueBlock.valueHexView).toString('hex');
    return certificates.find((c) => c.ski === ski);
  }
  throw new MalformedCms('unknown SignerIdentifier');
}

function keyFamily(key: KeyObject): 'rsa' | 'ec' | 'other' {
  return key.asymmetricKeyType === 'rsa' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : 'other';
}

// ---------------------------------------------------------------------------------------------
// Verification

/** Core of both verifications: `data` is the signed content (detached or encapsulated). */
function verifyParsed(parsed: ParsedSignedData, data: Buffer, options: VerifyOptions): CmsVerifyResult {
  const accepted = options.acceptedDigests ?? ['sha1', 'sha256', 'sha384', 'sha512'];
  const certificates: KnownCertificate[] = [];
  for (const der of parsed.certificates) {
    const certificate = knownCertificate(der);
    if (!certificate) return { ok: false, reason: 'unreadable certificate in SignedData' };
    certificates.push(certificate);
  }
  const certificatesPem = certificates.map((c) => c.pem);
  if (parsed.signerInfos.length !== 1)
    return {
      ok: false,
      reason: `expected exactly one SignerInfo, found ${parsed.signerInfos.length}`,
      certificatesPem,
    };
  const signerInfoBlock = parsed.signerInfos[0];
  const signerInfo = parsed.matchedSignerInfos?.[0] ?? match(signerInfoBlock, SIGNER_INFO, 'SignerInfo');
  // version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1] unsignedAttrs?
  const expectedFields = 5 + (signerInfo.signedAttrs ? 1 : 0) + (signerInfo.unsignedAttrs ? 1 : 0);
  if (children(signerInfoBlock).length !== expectedFields) throw new MalformedCms('unexpected element in SignerInfo');
  const digestOid = oid(one(signerInfo, 'digestAlgorithm', 'digestAlgorithm'), 'digestAlgorithm');
  const signatureOid = oid(one(signerInfo, 'signatureAlgorithm', 'signatureAlgorithm'), 'signatureAlgorithm');
  const signature = octets(one(signerInfo, 'signature', 'signature'), 'signature');

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

  const signer = findSigner(signerInfo, certificates);
  if (!signer) return { ok: false, reason: 'signer certificate not included in the SignedData', certificatesPem };
  if (keyFamily(signer.publicKey) !== algorithm.family) {
    return {
      ok: false,
      reason: `signature algorithm ${signatureOid} does not fit the ${signer.publicKey.asymmetricKeyType} key of the signer`,
      certificatesPem,
    };
  }

  let signedBytes: Buffer;
  let signingTime: Date | undefined;
  const signedAttrs = signerInfo.signedAttrs;
  if (signedAttrs !== undefined && !Array.isArray(signedAttrs)) {
    const contentDigest = createHash(digest).update(data).digest();
    const seen = new Set<string>();
    let messageDigest: Buffer | undefined;
    let contentTypeOk = false;
    for (const attributeBlock of many(signerInfo, 'signedAttributes')) {
      const attribute = match(attributeBlock, ATTRIBUTE, 'Attribute');
      const type = oid(one(attribute, 'type', 'Attribute type'), 'Attribute type');
      if (seen.has(type)) return { ok: false, reason: `signed attribute ${type} appears twice`, certificatesPem };
      seen.add(type);
      const values = many(attribute, 'values');
      if (type === OID.messageDigest || type === OID.contentType || type === OID.signingTime) {
        if (values.length !== 1)
          return { ok: false, reason: `signed attribute ${type} must have exactly one value`, certificatesPem };
      }
      if (type === OID.messageDigest) messageDigest = octets(values[0], 'messageDigest');
      if (type === OID.contentType) contentTypeOk = oid(values[0], 'contentType') === OID.data;
      if (type === OID.signingTime) signingTime = time(values[0]);
    }
    if (!contentTypeOk)
      return { ok: false, reason: 'signed attribute contentType missing or not id-data', certificatesPem };
    if (!messageDigest) return { ok: false, reason: 'signed attribute messageDigest missing', certificatesPem };
    if (!messageDigest.equals(contentDigest))
      return { ok: false, reason: 'messageDigest does not match the content', certificatesPem };
    // The signature covers the attributes as received, with the [0] IMPLICIT tag replaced by SET.
    signedBytes = raw(signedAttrs);
    signedBytes[0] = 0x31;
  } else {
    signedBytes = data;
  }

  let valid: boolean;
  try {
    valid = cryptoVerify(digest, signedBytes, signer.publicKey, signature);
  } catch (error) {
    return { ok: false, reason: `signature check failed: ${messageOf(error)}`, certificatesPem };
  }
  if (!valid) return { ok: false, reason: 'bad signature', certificatesPem };
  return { ok: true, certificatePem: signer.pem, certificatesPem, digestAlgorithm: digest, signingTime };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
 * Never throws: anything unreadable is refused with a reason.
 */
export function verifyDetachedSignature(
  body: Buffer | string,
  signatureBase64: string,
  options: VerifyOptions = {},
): CmsVerifyResult {
  try {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const compact = typeof signatureBase64 === 'string' ? signatureBase64.replace(/\s+/g, '') : '';
    if (compact.length === 0) return { ok: false, reason: 'empty signature' };
    if (compact.length % 4 !== 0 || !BASE64.test(compact)) return { ok: false, reason: 'signature is not base64' };
    const der = Buffer.from(compact, 'base64');
    const parsed = parseWithKnownPrefix(der) ?? parseSignedData(der);
    if (parsed.eContent !== undefined)
      return { ok: false, reason: 'the signature is not detached (it encapsulates content)' };
    return verifyParsed(parsed, data, options);
  } catch (error) {
    return { ok: false, reason: `malformed CMS: ${messageOf(error)}` };
  }
}

/** Verifies a CMS SignedData with encapsulated content (e.g. a signed profile) and returns the content. */
export function verifySignedData(der: Buffer, options: VerifyOptions = {}): CmsAttachedResult {
  try {
    const parsed = parseSignedData(der);
    if (parsed.eContent === undefined) return { ok: false, reason: 'no encapsulated content' };
    return { ...verifyParsed(parsed, parsed.eContent, options), content: parsed.eContent };
  } catch (error) {
    return { ok: false, reason: `malformed CMS: ${messageOf(error)}` };
  }
}

/** Forgets the known prefixes (tests compare with a whole decoding). */
export function forgetKnownPrefixes(): void {
  knownPrefixes.clear();
  prefixOffsets.clear();
}

/** True if `data` is one BER element, a ContentInfo of type id-signedData. */
export function looksLikeSignedData(data: Buffer): boolean {
  try {
    const contentInfo = match(decode(data).block, CONTENT_INFO, 'ContentInfo');
    return oid(one(contentInfo, 'contentType', 'contentType'), 'contentType') === OID.signedData;
  } catch {
    return false;
  }
}
