/**
 * Writing CMS (RFC 5652) as the service needs it: a SignedData with its content inside (a signed
 * enrollment profile, a SCEP CertRep), a degenerate certificates-only SignedData (the certificates
 * a SCEP answer carries), and EnvelopedData to one RSA recipient, which a SCEP request is and a
 * SCEP answer contains.
 *
 * The structures are PKI.js's objects, encoded by asn1js as DER (PKI.js would split the content in
 * BER pieces: the OCTET STRINGs are set primitive here). The RSA and cipher operations are
 * node:crypto's, synchronous (the same split as the verification in cms.ts).
 */
import * as asn1js from 'asn1js';
import forge from 'node-forge';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as cryptoSign,
  X509Certificate,
} from 'node:crypto';
import {
  AlgorithmIdentifier,
  Attribute,
  Certificate,
  ContentInfo,
  EncapsulatedContentInfo,
  EncryptedContentInfo,
  EnvelopedData,
  IssuerAndSerialNumber,
  KeyTransRecipientInfo,
  RecipientInfo,
  SignedAndUnsignedAttributes,
  SignedData,
  SignerInfo,
} from 'pkijs';
import { DigestName, OID } from './cms';

export const CMS_OID = {
  envelopedData: '1.2.840.113549.1.7.3',
} as const;

const DIGEST_OIDS: Record<DigestName, string> = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

/** Content ciphers of an EnvelopedData: what iOS, macOS and micromdm's scepclient use. */
export type ContentCipher = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';
/**
 * Also read, never written: single DES, which micromdm's scepclient (and old SCEP clients) still
 * encrypt requests with whatever the server's capabilities say. OpenSSL 3 has it only in its legacy
 * provider, so node-forge deciphers it.
 */
export type LegacyContentCipher = 'des-cbc';

const CIPHERS: Record<string, { name: ContentCipher | LegacyContentCipher; keyBytes: number; ivBytes: number }> = {
  '1.3.14.3.2.7': { name: 'des-cbc', keyBytes: 8, ivBytes: 8 },
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyBytes: 16, ivBytes: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyBytes: 24, ivBytes: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyBytes: 32, ivBytes: 16 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyBytes: 24, ivBytes: 8 },
};
const CIPHER_OIDS = Object.fromEntries(Object.entries(CIPHERS).map(([oid, c]) => [c.name, oid])) as Record<
  ContentCipher | LegacyContentCipher,
  string
>;

/** A structure that cannot be opened (the message says why, for a person). */
export class CmsWriteError extends Error {}

export interface CmsSigner {
  /** The signer's certificate first, then the chain to include (DER). */
  certificates: Buffer[];
  key: KeyObject;
}

export interface SignOptions {
  /** Default sha256. */
  digest?: DigestName;
  /** More signed attributes (contentType, messageDigest and signingTime are added). */
  attributes?: Attribute[];
  /** Default: now. */
  signingTime?: Date;
}

function octetString(bytes: Uint8Array): asn1js.OctetString {
  return new asn1js.OctetString({ valueHex: bytes });
}

function der(block: asn1js.AsnType): Buffer {
  return Buffer.from(block.toBER(false));
}

/**
 * A certificate read once and written back as the bytes it came in: reading and re-encoding one
 * with PKI.js costs about 1.5 ms, which would be most of the time a profile's signature takes (the
 * signer and its chain are the same for every profile).
 */
class PreEncodedCertificate extends Certificate {
  constructor(private readonly der: Buffer) {
    super({ schema: decodeBer(der) });
  }

  override toSchema(): asn1js.Sequence {
    // PKI.js only asks the element for its encoding, which is the DER as it came.
    return new RawElement({ data: this.der }) as unknown as asn1js.Sequence;
  }
}

/** Bytes already encoded, written as they are inside a structure asn1js encodes. */
class RawElement extends asn1js.RawData {
  override toBER(_sizeOnly?: boolean, writer?: { write(buffer: ArrayBuffer): void }): ArrayBuffer {
    const bytes = this.dataView.slice().buffer;
    if (!writer) return bytes;
    writer.write(bytes);
    return new ArrayBuffer(0);
  }
}

const CERTIFICATE_CACHE_SIZE = 1000;
/** By SHA-256 of the DER, oldest first (a SCEP requester's certificate passes once: bounded). */
const certificates = new Map<string, Certificate>();

function certificateOf(derBytes: Buffer): Certificate {
  const key = createHash('sha256').update(derBytes).digest('base64');
  let certificate = certificates.get(key);
  if (!certificate) {
    certificate = new PreEncodedCertificate(Buffer.from(derBytes));
    if (certificates.size >= CERTIFICATE_CACHE_SIZE) {
      const oldest = certificates.keys().next().value;
      if (oldest !== undefined) certificates.delete(oldest);
    }
    certificates.set(key, certificate);
  }
  return certificate;
}

/** PEM (one or more certificates) to DER, in order. */
export function pemCertificates(pem: string): Buffer[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    Buffer.from(m[1].replace(/\s+/g, ''), 'base64'),
  );
}

export function attribute(type: string, value: asn1js.AsnType): Attribute {
  return new Attribute({ type, values: [value] });
}

/**
 * DER ContentInfo(SignedData) over `content` (inside; absent when undefined: a SCEP failure has
 * none), one SignerInfo by issuer and serial, signed attributes contentType, signingTime,
 * messageDigest and the caller's, in DER SET OF order, RSA PKCS#1 v1.5 or ECDSA.
 */
export function signCms(content: Buffer | undefined, signer: CmsSigner, options: SignOptions = {}): Buffer {
  const digest = options.digest ?? 'sha256';
  const [leaf] = signer.certificates;
  if (!leaf) throw new CmsWriteError('the signer has no certificate');
  const leafCert = certificateOf(leaf);
  const attributes = [
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attribute(OID.signingTime, new asn1js.UTCTime({ valueDate: options.signingTime ?? new Date() })),
    attribute(
      OID.messageDigest,
      octetString(
        createHash(digest)
          .update(content ?? Buffer.alloc(0))
          .digest(),
      ),
    ),
    ...(options.attributes ?? []),
  ];
  // SET OF in DER: elements sorted by their encoding, so that verifiers that re-encode agree.
  attributes.sort((a, b) => Buffer.compare(der(a.toSchema()), der(b.toSchema())));
  const signedAttrs = new SignedAndUnsignedAttributes({ type: 0, attributes });
  const signedBytes = der(signedAttrs.toSchema());
  signedBytes[0] = 0x31; // the signature covers the attributes as a SET, not as [0] IMPLICIT
  const digestAlgorithm = new AlgorithmIdentifier({
    algorithmId: DIGEST_OIDS[digest],
    algorithmParams: new asn1js.Null(),
  });
  const signerInfo = new SignerInfo({
    version: 1,
    sid: new IssuerAndSerialNumber({ issuer: leafCert.issuer, serialNumber: leafCert.serialNumber }),
    digestAlgorithm,
    signedAttrs,
    signatureAlgorithm: signatureAlgorithm(signer.key, digest),
    signature: octetString(cryptoSign(digest, signedBytes, signer.key)),
  });
  const encap = new EncapsulatedContentInfo({ eContentType: OID.data });
  if (content !== undefined) encap.eContent = octetString(content);
  const signedData = new SignedData({
    version: 1,
    digestAlgorithms: [digestAlgorithm],
    encapContentInfo: encap,
    certificates: signer.certificates.map(certificateOf),
    signerInfos: [signerInfo],
  });
  return der(new ContentInfo({ contentType: OID.signedData, content: signedData.toSchema() }).toSchema());
}

const ECDSA_OIDS: Record<DigestName, string> = {
  sha1: '1.2.840.10045.4.1',
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
};

/**
 * RSA PKCS#1 v1.5 (rsaEncryption, as Apple's devices sign) or ECDSA (a TLS certificate of the
 * public host may well be one: node:crypto's ECDSA signature is the DER that CMS carries).
 */
function signatureAlgorithm(key: KeyObject, digest: DigestName): AlgorithmIdentifier {
  if (key.asymmetricKeyType === 'rsa')
    return new AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
  if (key.asymmetricKeyType === 'ec') return new AlgorithmIdentifier({ algorithmId: ECDSA_OIDS[digest] });
  throw new CmsWriteError(`a ${key.asymmetricKeyType ?? 'unknown'} key cannot sign CMS here (RSA or EC)`);
}

/** A degenerate SignedData: certificates only, no signer, no content (RFC 5652 5.2; RFC 8894 3.4). */
export function certificatesOnlyCms(certificates: Buffer[]): Buffer {
  const signedData = new SignedData({
    version: 1,
    digestAlgorithms: [],
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: certificates.map(certificateOf),
    signerInfos: [],
  });
  return der(new ContentInfo({ contentType: OID.signedData, content: signedData.toSchema() }).toSchema());
}

/** DER ContentInfo(EnvelopedData) of `content` for one RSA recipient (key transport, PKCS#1 v1.5). */
export function envelopeCms(content: Buffer, recipientCertificate: Buffer, cipher: ContentCipher): Buffer {
  const recipient = certificateOf(recipientCertificate);
  const spec = CIPHERS[CIPHER_OIDS[cipher]];
  const key = randomBytes(spec.keyBytes);
  const iv = randomBytes(spec.ivBytes);
  const encipher = createCipheriv(cipher, key, iv);
  const encrypted = Buffer.concat([encipher.update(content), encipher.final()]);
  const encryptedKey = publicEncrypt(
    { key: new X509Certificate(recipientCertificate).publicKey, padding: constants.RSA_PKCS1_PADDING },
    key,
  );
  const enveloped = new EnvelopedData({
    version: 0,
    recipientInfos: [
      new RecipientInfo({
        variant: 1,
        value: new KeyTransRecipientInfo({
          version: 0,
          rid: new IssuerAndSerialNumber({ issuer: recipient.issuer, serialNumber: recipient.serialNumber }),
          keyEncryptionAlgorithm: new AlgorithmIdentifier({
            algorithmId: OID.rsaEncryption,
            algorithmParams: new asn1js.Null(),
          }),
          encryptedKey: octetString(encryptedKey),
        }),
      }),
    ],
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: new AlgorithmIdentifier({
        algorithmId: CIPHER_OIDS[cipher],
        algorithmParams: octetString(iv),
      }),
      encryptedContent: octetString(encrypted),
      disableSplit: true,
    }),
  });
  return der(new ContentInfo({ contentType: CMS_OID.envelopedData, content: enveloped.toSchema() }).toSchema());
}

const rejectionSecrets = new WeakMap<KeyObject, Buffer>();

/** A secret derived from the private key, for the keys implicit rejection hands out. */
function rejectionSecret(key: KeyObject): Buffer {
  let secret = rejectionSecrets.get(key);
  if (!secret) {
    secret = createHash('sha256')
      .update('cms implicit rejection')
      .update(key.export({ type: 'pkcs8', format: 'der' }))
      .digest();
    rejectionSecrets.set(key, secret);
  }
  return secret;
}

/**
 * The content key from RSAES-PKCS1-v1_5 (RFC 8017 7.2.2). node:crypto refuses PKCS#1 v1.5 private
 * decryption (CVE-2023-46809, the Marvin attack), so the raw RSA operation is node:crypto's and the
 * padding is checked here without branching on it: a malformed block yields a key of the expected
 * length derived from the message and the private key (implicit rejection, as OpenSSL 3.2 does),
 * which then fails like any wrong key.
 */
function unwrapKey(recipientKey: KeyObject, encryptedKey: Buffer, keyBytes: number): Buffer {
  // The same key for the same message, as OpenSSL's implicit rejection: asking again tells nothing.
  const fallback = createHmac('sha256', rejectionSecret(recipientKey))
    .update(encryptedKey)
    .digest()
    .subarray(0, keyBytes);
  let block: Buffer;
  try {
    block = privateDecrypt({ key: recipientKey, padding: constants.RSA_NO_PADDING }, encryptedKey);
  } catch {
    return fallback;
  }
  // 0x00 0x02 PS (at least 8 non-zero bytes) 0x00 M, with M of keyBytes bytes.
  const start = block.length - keyBytes;
  let bad = (block[0] ^ 0x00) | (block[1] ^ 0x02) | (start < 11 ? 1 : 0) | (block[start - 1] ^ 0x00);
  for (let i = 2; i < start - 1; i++) bad |= block[i] === 0 ? 1 : 0;
  const key = Buffer.alloc(keyBytes);
  const mask = bad === 0 ? 0xff : 0x00;
  for (let i = 0; i < keyBytes; i++) key[i] = (block[start + i] & mask) | (fallback[i] & ~mask);
  return key;
}

/** Untrusted input: bounded nesting and element count (as the verifier in cms.ts). */
export function decodeBer(bytes: Uint8Array): asn1js.AsnType {
  const { offset, result } = asn1js.fromBER(bytes, { maxDepth: 64, maxNodes: 10_000 });
  if (offset === -1 || result.error) throw new CmsWriteError(`unreadable ASN.1 (${result.error || 'no element'})`);
  if (offset !== bytes.byteLength) throw new CmsWriteError('trailing bytes after the ASN.1 element');
  return result;
}

/** Content octets of an OCTET STRING, primitive or constructed (BER pieces). */
export function octetsOf(block: asn1js.AsnType | undefined): Buffer {
  if (!(block instanceof asn1js.OctetString)) throw new CmsWriteError('expected an OCTET STRING');
  if (!block.idBlock.isConstructed) return Buffer.from(block.valueBlock.valueHexView);
  return Buffer.concat(block.valueBlock.value.map((piece) => octetsOf(piece)));
}

export interface OpenedEnvelope {
  content: Buffer;
  cipher: ContentCipher | LegacyContentCipher;
}

function decipher(name: ContentCipher | LegacyContentCipher, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (name === 'des-cbc') {
    const des = forge.cipher.createDecipher('DES-CBC', forge.util.createBuffer(key.toString('binary')));
    des.start({ iv: forge.util.createBuffer(iv.toString('binary')) });
    des.update(forge.util.createBuffer(data.toString('binary')));
    if (!des.finish()) throw new Error('bad padding');
    return Buffer.from(des.output.getBytes(), 'binary');
  }
  const node = createDecipheriv(name, key, iv);
  return Buffer.concat([node.update(data), node.final()]);
}

/**
 * Decrypts a ContentInfo(EnvelopedData) (DER or BER) with the recipient's RSA key. The recipient
 * info naming `recipientCertificate` (by issuer and serial) is used when there are several.
 */
export function openEnvelopeCms(bytes: Buffer, recipientKey: KeyObject, recipientCertificate: Buffer): OpenedEnvelope {
  let enveloped: EnvelopedData;
  try {
    const info = new ContentInfo({ schema: decodeBer(bytes) });
    if (info.contentType !== CMS_OID.envelopedData) throw new CmsWriteError('not an EnvelopedData');
    enveloped = new EnvelopedData({ schema: info.content });
  } catch (error) {
    if (error instanceof CmsWriteError) throw error;
    throw new CmsWriteError(`malformed EnvelopedData (${(error as Error).message})`);
  }
  const ours = certificateOf(recipientCertificate);
  const keyTrans = enveloped.recipientInfos
    .map((r) => r.value)
    .filter((v): v is KeyTransRecipientInfo => v instanceof KeyTransRecipientInfo);
  const mine =
    keyTrans.find(
      (k) =>
        k.rid instanceof IssuerAndSerialNumber &&
        k.rid.issuer.isEqual(ours.issuer) &&
        k.rid.serialNumber.isEqual(ours.serialNumber),
    ) ?? (keyTrans.length === 1 ? keyTrans[0] : undefined);
  if (!mine) throw new CmsWriteError('the message is not encrypted to this server');
  if (mine.keyEncryptionAlgorithm.algorithmId !== OID.rsaEncryption)
    throw new CmsWriteError(`unsupported key encryption ${mine.keyEncryptionAlgorithm.algorithmId}`);
  const algorithm = enveloped.encryptedContentInfo.contentEncryptionAlgorithm;
  const spec = CIPHERS[algorithm.algorithmId];
  if (!spec) throw new CmsWriteError(`unsupported content encryption ${algorithm.algorithmId}`);
  const iv = octetsOf(algorithm.algorithmParams as asn1js.AsnType | undefined);
  if (!enveloped.encryptedContentInfo.encryptedContent)
    throw new CmsWriteError('the EnvelopedData has no encrypted content');
  const encrypted = Buffer.from(enveloped.encryptedContentInfo.getEncryptedContent());
  if (iv.length !== spec.ivBytes) throw new CmsWriteError('the content encryption IV has the wrong length');
  const key = unwrapKey(recipientKey, Buffer.from(mine.encryptedKey.valueBlock.valueHexView), spec.keyBytes);
  try {
    return { content: decipher(spec.name, key, iv, encrypted), cipher: spec.name };
  } catch {
    throw new CmsWriteError('the message cannot be decrypted with this server’s key');
  }
}
