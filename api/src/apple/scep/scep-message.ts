/**
 * SCEP messages (RFC 8894): reading a PKIOperation request (a CMS SignedData by the requester over
 * an EnvelopedData to the CA, with the SCEP signed attributes) and writing the CertRep answer.
 * Structures are PKI.js's, cryptography node:crypto's (api/src/apple/cms).
 */
import * as asn1js from 'asn1js';
import { createPublicKey, KeyObject, randomBytes, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { CertificationRequest, ContentInfo, SignedData } from 'pkijs';
import { DigestName, OID, verifySignedData } from '../cms/cms';
import {
  attribute,
  certificatesOnlyCms,
  CmsSigner,
  ContentCipher,
  decodeBer,
  envelopeCms,
  octetsOf,
  signCms,
} from '../cms/cms-write';

/** SCEP signed attributes (RFC 8894 3.2.1). */
export const SCEP_OID = {
  messageType: '2.16.840.1.113733.1.9.2',
  pkiStatus: '2.16.840.1.113733.1.9.3',
  failInfo: '2.16.840.1.113733.1.9.4',
  senderNonce: '2.16.840.1.113733.1.9.5',
  recipientNonce: '2.16.840.1.113733.1.9.6',
  transactionID: '2.16.840.1.113733.1.9.7',
  failInfoText: '1.3.6.1.5.5.7.24.1',
  challengePassword: '1.2.840.113549.1.9.7',
} as const;

export const MESSAGE_TYPE = {
  CertRep: '3',
  RenewalReq: '17',
  PKCSReq: '19',
  CertPoll: '20',
  GetCert: '21',
  GetCRL: '22',
} as const;

export const PKI_STATUS = { SUCCESS: '0', FAILURE: '2', PENDING: '3' } as const;

/** failInfo values (RFC 8894 3.2.1.4). */
export const FAIL_INFO = { badAlg: '0', badMessageCheck: '1', badRequest: '2', badTime: '3', badCertID: '4' } as const;
export type FailInfo = keyof typeof FAIL_INFO;

/** Not a SCEP message at all: the caller answers 400 with `message`. */
export class MalformedScepMessage extends Error {}

/** A SCEP message we can answer, but with a FAILURE CertRep. */
export class ScepFailure extends Error {
  constructor(
    readonly failInfo: FailInfo,
    message: string,
    /** Set when the failure is found before the request is verified (what the answer needs). */
    readonly envelope?: ScepEnvelope,
  ) {
    super(message);
  }
}

/** What the answer needs from any request, read before anything is checked. */
export interface ScepEnvelope {
  messageType: string;
  transactionId: string;
  senderNonce: Buffer;
  digest: DigestName;
}

export interface VerifiedRequest extends ScepEnvelope {
  /** The requester's (self-signed) certificate that signed the message: the answer is encrypted to it. */
  signerCertificate: Buffer;
  /** The encrypted PKCS#10 request (EnvelopedData DER). */
  envelope: Buffer;
}

export interface CertificateRequest {
  publicKey: KeyObject;
  challengePassword: string | null;
  commonName: string | null;
}

/** A string attribute's value (PrintableString, UTF8String…). */
export function attributeText(value: asn1js.AsnType | undefined, what: string): string {
  if (
    value instanceof asn1js.PrintableString ||
    value instanceof asn1js.Utf8String ||
    value instanceof asn1js.IA5String ||
    value instanceof asn1js.TeletexString ||
    value instanceof asn1js.BmpString ||
    value instanceof asn1js.UniversalString
  )
    return value.valueBlock.value;
  throw new MalformedScepMessage(`The ${what} attribute is not a string.`);
}

const DIGEST_BY_OID: Record<string, DigestName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** A SCEP message's signed attributes (its one signer's), read without checking anything else. */
export function scepAttributes(message: Buffer): {
  value: (type: string) => asn1js.AsnType | undefined;
  digestAlgorithm: string;
} {
  let signed: SignedData;
  try {
    const info = new ContentInfo({ schema: decodeBer(message) });
    if (info.contentType !== OID.signedData) throw new Error('not a SignedData');
    signed = new SignedData({ schema: info.content });
  } catch (error) {
    throw new MalformedScepMessage(
      `The PKIOperation message is not a CMS SignedData (RFC 8894 PKCSReq): ${(error as Error).message}.`,
    );
  }
  const [signer] = signed.signerInfos;
  if (!signer || signed.signerInfos.length !== 1)
    throw new MalformedScepMessage('The PKIOperation message must have exactly one signer.');
  const attributes = signer.signedAttrs?.attributes ?? [];
  return {
    value: (type) => attributes.find((a) => a.type === type)?.values[0],
    digestAlgorithm: signer.digestAlgorithm.algorithmId,
  };
}

/**
 * Reads the SCEP attributes of a PKIOperation message and checks its signature (the signer's
 * certificate must be in the message: for a first request, the requester's self-signed one).
 * Throws MalformedScepMessage when it is not a SCEP message (no answer can be built), ScepFailure
 * when it is one whose signature does not hold (`envelope` carries what the CertRep needs).
 */
export function readRequest(message: Buffer): VerifiedRequest {
  const { value, digestAlgorithm } = scepAttributes(message);
  const messageType = value(SCEP_OID.messageType);
  const transactionId = value(SCEP_OID.transactionID);
  const senderNonce = value(SCEP_OID.senderNonce);
  if (!messageType || !transactionId || !senderNonce)
    throw new MalformedScepMessage(
      'The PKIOperation message lacks the SCEP attributes messageType, transactionID and senderNonce.',
    );
  let nonce: Buffer;
  try {
    nonce = octetsOf(senderNonce);
  } catch {
    throw new MalformedScepMessage('The senderNonce attribute is not an OCTET STRING.');
  }
  if (nonce.length !== 16) throw new MalformedScepMessage('The senderNonce attribute must be 16 bytes.');
  const envelope: ScepEnvelope = {
    messageType: attributeText(messageType, 'messageType'),
    transactionId: attributeText(transactionId, 'transactionID'),
    senderNonce: nonce,
    digest: DIGEST_BY_OID[digestAlgorithm] ?? 'sha256',
  };
  if (envelope.transactionId.length === 0 || envelope.transactionId.length > 128)
    throw new MalformedScepMessage('The transactionID attribute must be 1 to 128 characters.');
  const verified = verifySignedData(message);
  if (!verified.ok || !verified.certificatePem || !verified.content)
    throw new ScepFailure(
      'badMessageCheck',
      `The request's signature does not hold (${verified.reason ?? 'no content'}).`,
      envelope,
    );
  return {
    ...envelope,
    digest: verified.digestAlgorithm ?? envelope.digest,
    signerCertificate: Buffer.from(new X509Certificate(verified.certificatePem).raw),
    envelope: verified.content,
  };
}

const CSR_SIGNATURES: Record<string, DigestName> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** The PKCS#10 request inside the envelope, its self-signature checked. */
export function readCertificateRequest(der: Buffer): CertificateRequest {
  let csr: CertificationRequest;
  try {
    csr = new CertificationRequest({ schema: decodeBer(der) });
  } catch (error) {
    throw new ScepFailure('badRequest', `The certificate request is not PKCS#10 (${(error as Error).message}).`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({
      key: Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false)),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new ScepFailure('badRequest', 'The public key of the certificate request cannot be read.');
  }
  const digest = CSR_SIGNATURES[csr.signatureAlgorithm.algorithmId];
  if (!digest || publicKey.asymmetricKeyType !== 'rsa')
    throw new ScepFailure('badAlg', 'Only RSA keys signed with SHA-1 or SHA-2 (RSA PKCS#1 v1.5) are certified.');
  if ((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new ScepFailure('badAlg', 'The key must be RSA of at least 2048 bits.');
  const valid = cryptoVerify(
    digest,
    Buffer.from(csr.tbsView),
    publicKey,
    Buffer.from(csr.signatureValue.valueBlock.valueHexView),
  );
  if (!valid) throw new ScepFailure('badMessageCheck', 'The certificate request is not signed by its own key.');
  const challenge = csr.attributes?.find((a) => a.type === SCEP_OID.challengePassword)?.values[0];
  const cn = csr.subject.typesAndValues.find((t) => t.type === '2.5.4.3')?.value;
  return {
    publicKey,
    challengePassword: challenge ? attributeText(challenge, 'challengePassword') : null,
    commonName: cn ? String(cn.valueBlock.value) : null,
  };
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

export function sameKey(a: KeyObject, b: KeyObject): boolean {
  return spki(a).equals(spki(b));
}

function printable(value: string): asn1js.PrintableString {
  return new asn1js.PrintableString({ value });
}

function replyAttributes(request: ScepEnvelope, status: string): ReturnType<typeof attribute>[] {
  return [
    attribute(SCEP_OID.messageType, printable(MESSAGE_TYPE.CertRep)),
    attribute(SCEP_OID.pkiStatus, printable(status)),
    attribute(SCEP_OID.transactionID, printable(request.transactionId)),
    attribute(SCEP_OID.senderNonce, new asn1js.OctetString({ valueHex: randomBytes(16) })),
    attribute(SCEP_OID.recipientNonce, new asn1js.OctetString({ valueHex: request.senderNonce })),
  ];
}

/** CertRep SUCCESS: the issued certificate (then the CA's), encrypted to the requester's certificate. */
export function successReply(request: VerifiedRequest, ca: CmsSigner, issued: Buffer, cipher: ContentCipher): Buffer {
  const envelope = envelopeCms(certificatesOnlyCms([issued, ...ca.certificates]), request.signerCertificate, cipher);
  return signCms(envelope, ca, {
    digest: request.digest,
    attributes: replyAttributes(request, PKI_STATUS.SUCCESS),
  });
}

/** CertRep FAILURE with its failInfo (and the reason in failInfoText, RFC 8894 3.2.1.4.5). */
export function failureReply(request: ScepEnvelope, ca: CmsSigner, failure: ScepFailure): Buffer {
  return signCms(undefined, ca, {
    digest: request.digest,
    attributes: [
      ...replyAttributes(request, PKI_STATUS.FAILURE),
      attribute(SCEP_OID.failInfo, printable(FAIL_INFO[failure.failInfo])),
      attribute(SCEP_OID.failInfoText, new asn1js.Utf8String({ value: failure.message })),
    ],
  });
}
