/**
 * The SCEP client of the simulated iPhone (RFC 8894), as iOS runs it for an enrollment profile's
 * `com.apple.security.scep` payload: it generates the key on the "phone" (it never leaves it), asks
 * the server's capabilities (GetCACaps) and CA certificate (GetCACert), sends a PKCSReq — a PKCS#10
 * request carrying the payload's Challenge, encrypted to the CA, signed by a self-signed certificate
 * of the new key — and takes the certificate from the CertRep, whose signature (by that CA),
 * transactionID and recipientNonce it checks. Strict like a device: a FAILURE is an error that says
 * the server's failInfo and reason.
 *
 * Structures are PKI.js's (certificate, request, attributes); CMS signing, encryption and their
 * verification are the service's own helpers (api/src/apple/cms), so both sides cannot disagree on
 * an encoding without the micromdm scepclient interop (tools/scep-interop.sh) noticing.
 */
import * as asn1js from 'asn1js';
import {
  createHash,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  sign as cryptoSign,
  X509Certificate,
} from 'node:crypto';
import {
  AlgorithmIdentifier,
  Attribute,
  AttributeTypeAndValue,
  BasicConstraints,
  Certificate,
  CertificationRequest,
  ContentInfo,
  Extension,
  PublicKeyInfo,
  RelativeDistinguishedNames,
  SignedData,
} from 'pkijs';
import { CmsAttachedResult, verifyDetachedSignature, verifySignedData } from '../../api/src/apple/cms/cms';
import {
  attribute,
  ContentCipher,
  envelopeCms,
  OpenedEnvelope,
  openEnvelopeCms,
  signCms,
} from '../../api/src/apple/cms/cms-write';
import {
  attributeText,
  FAIL_INFO,
  MESSAGE_TYPE,
  PKI_STATUS,
  SCEP_OID,
  scepAttributes,
} from '../../api/src/apple/scep/scep-message';
import { SimulatedIPhone } from './device-simulator';
import { isPlistDict, parseMobileconfig, payloadsOf, PlistDict } from './mobileconfig';

export interface ScepPayload {
  url: string;
  challenge?: string;
  /** [[['CN', 'x']], [['O', 'y']]] as in the profile. */
  subject: [string, string][][];
  keySize: number;
}

export interface ScepIdentity {
  certPem: string;
  keyPem: string;
  /** What the exchange looked like (the tests check it). */
  exchange: {
    capabilities: string[];
    caCertificatePem: string;
    transactionId: string;
    usedPost: boolean;
    cipher: OpenedEnvelope['cipher'];
    /** Sends the very same request again (a phone that missed the answer); the certificate it gets. */
    resend: () => Promise<string>;
    /** The PKCSReq as sent (DER). */
    request: Buffer;
  };
}

export class ScepClientError extends Error {
  constructor(
    message: string,
    /** The server's failInfo name (badRequest…) for a CertRep FAILURE. */
    readonly failInfo?: string,
    /** HTTP status, when the server answered with something else than a CertRep. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The com.apple.security.scep payload's content, checked as iOS would (Apple's schema keys). */
export function scepPayloadOf(payload: PlistDict): ScepPayload {
  if (payload.PayloadType !== 'com.apple.security.scep') throw new Error('not a com.apple.security.scep payload');
  const content = payload.PayloadContent;
  if (!isPlistDict(content)) throw new Error('com.apple.security.scep: PayloadContent is not a dictionary');
  if (typeof content.URL !== 'string' || !/^https?:\/\//.test(content.URL))
    throw new Error('com.apple.security.scep: URL missing or not http(s)');
  const keyType = content['Key Type'] ?? 'RSA';
  if (keyType !== 'RSA') throw new Error(`com.apple.security.scep: Key Type ${String(keyType)} (only RSA exists)`);
  const keySize = content.Keysize ?? 1024;
  if (keySize !== 1024 && keySize !== 2048 && keySize !== 4096)
    throw new Error(`com.apple.security.scep: Keysize ${String(keySize)} is not 1024, 2048 or 4096`);
  const subject: [string, string][][] = [];
  if (content.Subject !== undefined) {
    if (!Array.isArray(content.Subject)) throw new Error('com.apple.security.scep: Subject is not an array');
    for (const rdn of content.Subject) {
      if (!Array.isArray(rdn)) throw new Error('com.apple.security.scep: Subject entry is not an array');
      subject.push(
        rdn.map((pair) => {
          if (!Array.isArray(pair) || pair.length !== 2 || pair.some((p) => typeof p !== 'string'))
            throw new Error('com.apple.security.scep: a Subject pair is not two strings');
          return [pair[0] as string, pair[1] as string];
        }),
      );
    }
  }
  if (content.Challenge !== undefined && typeof content.Challenge !== 'string')
    throw new Error('com.apple.security.scep: Challenge is not a string');
  return { url: content.URL, challenge: content.Challenge, subject, keySize };
}

const NAME_OIDS: Record<string, string> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
};

function name(subject: [string, string][][]): RelativeDistinguishedNames {
  return new RelativeDistinguishedNames({
    typesAndValues: subject.flat().map(
      ([type, value]) =>
        new AttributeTypeAndValue({
          type: NAME_OIDS[type] ?? type,
          value: new asn1js.Utf8String({ value }),
        }),
    ),
  });
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  return PublicKeyInfo.fromBER(key.export({ type: 'spki', format: 'der' }));
}

function rsaSignature(): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithmId: SHA256_WITH_RSA, algorithmParams: new asn1js.Null() });
}

/** The self-signed certificate of the new key that signs the request (RFC 8894 2.3). */
function selfSigned(subject: [string, string][][], publicKey: KeyObject, privateKey: KeyObject): Buffer {
  const cert = new Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: Buffer.concat([Buffer.from([0x01]), randomBytes(8)]) });
  cert.issuer = name(subject);
  cert.subject = name(subject);
  cert.notBefore.value = new Date(Date.now() - 60_000);
  cert.notAfter.value = new Date(Date.now() + 86_400_000);
  cert.subjectPublicKeyInfo = publicKeyInfo(publicKey);
  cert.extensions = [
    new Extension({
      extnID: '2.5.29.19',
      critical: true,
      extnValue: new BasicConstraints({ cA: false }).toSchema().toBER(false),
    }),
  ];
  cert.signature = rsaSignature();
  cert.signatureAlgorithm = rsaSignature();
  const tbs = Buffer.from(cert.encodeTBS().toBER(false));
  cert.signatureValue = new asn1js.BitString({ valueHex: cryptoSign('sha256', tbs, privateKey) });
  return Buffer.from(cert.toSchema(true).toBER(false));
}

/** The PKCS#10 request with the challenge (challengePassword attribute). */
function certificationRequest(
  subject: [string, string][][],
  challenge: string | undefined,
  publicKey: KeyObject,
  privateKey: KeyObject,
): Buffer {
  const csr = new CertificationRequest();
  csr.version = 0;
  csr.subject = name(subject);
  csr.subjectPublicKeyInfo = publicKeyInfo(publicKey);
  csr.attributes =
    challenge === undefined
      ? []
      : [
          new Attribute({
            type: SCEP_OID.challengePassword,
            values: [new asn1js.PrintableString({ value: challenge })],
          }),
        ];
  csr.signatureAlgorithm = rsaSignature();
  // toSchema(true) encodes the to-be-signed part from the fields (encodeTBS is not public).
  const tbs = Buffer.from((csr.toSchema(true).valueBlock.value[0] as asn1js.Sequence).toBER(false));
  csr.signatureValue = new asn1js.BitString({ valueHex: cryptoSign('sha256', tbs, privateKey) });
  return Buffer.from(csr.toSchema(true).toBER(false));
}

async function get(url: string, operation: string, extra = ''): Promise<Response> {
  const separator = url.includes('?') ? '&' : '?';
  return fetch(`${url}${separator}operation=${operation}${extra}`);
}

async function bytes(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

async function refused(response: Response, what: string): Promise<ScepClientError> {
  const body = await response.text();
  let message = body;
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    // not JSON: the text as it came
  }
  return new ScepClientError(`${what}: HTTP ${response.status}: ${message}`, undefined, response.status);
}

/** The CA certificates of a GetCACert answer: one DER certificate, or a certificates-only SignedData (CA and RA). */
function caCertificates(contentType: string, body: Buffer): Buffer[] {
  if (contentType.startsWith('application/x-x509-ca-cert')) return [body];
  if (contentType.startsWith('application/x-x509-ca-ra-cert')) {
    const signed = new SignedData({ schema: new ContentInfo({ schema: asn1js.fromBER(body).result }).content });
    return (signed.certificates ?? [])
      .filter((c): c is Certificate => c instanceof Certificate)
      .map((c) => Buffer.from(c.toSchema().toBER(false)));
  }
  throw new ScepClientError(`GetCACert: unexpected content type "${contentType}"`);
}

export interface ScepEnrollOptions {
  /** Send the PKCSReq by GET even if the server offers POSTPKIOperation (default false). */
  forceGet?: boolean;
  /** Tests: sign the request with another key than the one the request is for. */
  signWithOtherKey?: boolean;
  /** Tests: another challenge than the profile's. */
  challenge?: string;
  /** As older devices: triple DES and SHA-1 even if the server offers AES and SHA-256. */
  legacyAlgorithms?: boolean;
  /** Tests: another messageType than PKCSReq (19), e.g. RenewalReq (17). */
  messageType?: string;
}

/**
 * Runs the SCEP exchange of a profile's payload against its server; returns the identity (the key
 * generated here, the certificate issued there).
 */
export async function scepEnroll(payload: ScepPayload, options: ScepEnrollOptions = {}): Promise<ScepIdentity> {
  const capsResponse = await get(payload.url, 'GetCACaps');
  if (!capsResponse.ok) throw await refused(capsResponse, 'GetCACaps');
  const capabilities = (await capsResponse.text())
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const caResponse = await get(payload.url, 'GetCACert');
  if (!caResponse.ok) throw await refused(caResponse, 'GetCACert');
  const cas = caCertificates(caResponse.headers.get('content-type') ?? '', await bytes(caResponse));
  // Without an RA, the CA itself is the recipient and the signer of the answers.
  const recipient = cas.find((der) => !new X509Certificate(der).ca) ?? cas[0];
  if (!recipient) throw new ScepClientError('GetCACert: no certificate');

  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: payload.keySize });
  const subject = payload.subject.length > 0 ? payload.subject : [[['CN', 'apple-sim'] as [string, string]]];
  const csr = certificationRequest(subject, options.challenge ?? payload.challenge, publicKey, privateKey);
  const signerKeys = options.signWithOtherKey
    ? generateKeyPairSync('rsa', { modulusLength: payload.keySize })
    : { publicKey, privateKey };
  const signerCertificate = selfSigned(subject, signerKeys.publicKey, signerKeys.privateKey);
  const cipher: ContentCipher =
    capabilities.includes('AES') && !options.legacyAlgorithms ? 'aes-128-cbc' : 'des-ede3-cbc';
  const digest = capabilities.includes('SHA-256') && !options.legacyAlgorithms ? 'sha256' : 'sha1';
  const transactionId = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  const senderNonce = randomBytes(16);
  const pkcsReq = signCms(
    envelopeCms(csr, recipient, cipher),
    { certificates: [signerCertificate], key: signerKeys.privateKey },
    {
      digest,
      attributes: [
        attribute(
          SCEP_OID.messageType,
          new asn1js.PrintableString({ value: options.messageType ?? MESSAGE_TYPE.PKCSReq }),
        ),
        attribute(SCEP_OID.transactionID, new asn1js.PrintableString({ value: transactionId })),
        attribute(SCEP_OID.senderNonce, new asn1js.OctetString({ valueHex: senderNonce })),
      ],
    },
  );
  const usedPost = capabilities.includes('POSTPKIOperation') && !options.forceGet;
  const separator = payload.url.includes('?') ? '&' : '?';
  const caCertificate = new X509Certificate(recipient);
  const spki = publicKey.export({ type: 'spki', format: 'der' });

  /** Sends the request and reads the CertRep as a device does: every check, then the certificate. */
  const send = async (): Promise<{ certificate: X509Certificate; cipher: OpenedEnvelope['cipher'] }> => {
    const response = usedPost
      ? await fetch(`${payload.url}${separator}operation=PKIOperation`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-pki-message' },
          body: pkcsReq,
        })
      : await get(payload.url, 'PKIOperation', `&message=${encodeURIComponent(pkcsReq.toString('base64'))}`);
    if (!response.ok) throw await refused(response, 'PKIOperation');
    const certRep = await bytes(response);
    const rep = scepAttributes(certRep);
    const status = attributeText(rep.value(SCEP_OID.pkiStatus), 'pkiStatus');
    const verified: CmsAttachedResult =
      status === PKI_STATUS.SUCCESS
        ? verifySignedData(certRep)
        : verifyDetachedSignature(Buffer.alloc(0), certRep.toString('base64'));
    if (!verified.ok || !verified.certificatePem || !new X509Certificate(verified.certificatePem).raw.equals(recipient))
      throw new ScepClientError(`CertRep: not signed by the CA (${verified.reason ?? 'another signer'})`);
    if (attributeText(rep.value(SCEP_OID.messageType), 'messageType') !== MESSAGE_TYPE.CertRep)
      throw new ScepClientError('CertRep: messageType is not CertRep (3)');
    if (attributeText(rep.value(SCEP_OID.transactionID), 'transactionID') !== transactionId)
      throw new ScepClientError('CertRep: transactionID differs from the request');
    const recipientNonce = rep.value(SCEP_OID.recipientNonce);
    if (
      !(recipientNonce instanceof asn1js.OctetString) ||
      !Buffer.from(recipientNonce.valueBlock.valueHexView).equals(senderNonce)
    )
      throw new ScepClientError('CertRep: recipientNonce is not the senderNonce of the request');
    const serverNonce = rep.value(SCEP_OID.senderNonce);
    if (!(serverNonce instanceof asn1js.OctetString) || serverNonce.valueBlock.valueHexView.byteLength !== 16)
      throw new ScepClientError('CertRep: senderNonce missing or not 16 bytes');
    if (status !== PKI_STATUS.SUCCESS) {
      const code = rep.value(SCEP_OID.failInfo);
      const failInfo = code
        ? Object.entries(FAIL_INFO).find(([, v]) => v === attributeText(code, 'failInfo'))?.[0]
        : undefined;
      const text = rep.value(SCEP_OID.failInfoText);
      throw new ScepClientError(
        `CertRep ${status === PKI_STATUS.PENDING ? 'PENDING' : 'FAILURE'} (${failInfo ?? 'no failInfo'}): ${text ? attributeText(text, 'failInfoText') : ''}`,
        failInfo,
      );
    }
    if (!verified.content) throw new ScepClientError('CertRep SUCCESS without content');
    const opened = openEnvelopeCms(verified.content, signerKeys.privateKey, signerCertificate);
    const degenerate = new SignedData({
      schema: new ContentInfo({ schema: asn1js.fromBER(opened.content).result }).content,
    });
    const mine = (degenerate.certificates ?? [])
      .filter((c): c is Certificate => c instanceof Certificate)
      .map((c) => new X509Certificate(Buffer.from(c.toSchema().toBER(false))))
      .find((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
    if (!mine) throw new ScepClientError('CertRep: no certificate for the key of the request');
    if (!mine.checkIssued(caCertificate) || !mine.verify(caCertificate.publicKey))
      throw new ScepClientError('CertRep: the certificate is not issued by the CA');
    return { certificate: mine, cipher: opened.cipher };
  };

  const { certificate, cipher: answerCipher } = await send();
  return {
    certPem: certificate.toString(),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    exchange: {
      capabilities,
      caCertificatePem: caCertificate.toString(),
      transactionId,
      usedPost,
      cipher: answerCipher,
      resend: async () => (await send()).certificate.toString(),
      request: pkcsReq,
    },
  };
}

const exchanges = new WeakMap<SimulatedIPhone, ScepIdentity>();

/** The SCEP exchange that gave a phone its current identity (enrollment or renewal), if it was SCEP. */
export function scepIdentityOf(phone: SimulatedIPhone): ScepIdentity | undefined {
  return exchanges.get(phone);
}

/** Records the exchange of a phone's renewed identity (SimulatedIPhone's InstallProfile of an enrollment profile). */
export function noteScepExchange(phone: SimulatedIPhone, identity: ScepIdentity): void {
  exchanges.set(phone, identity);
}

/**
 * A phone installing an enrollment profile as iOS does: with a com.apple.security.scep identity
 * payload it first runs the SCEP exchange (its key is made here), otherwise it takes the PKCS#12.
 * Then as SimulatedIPhone.fromEnrollmentProfile (which refuses a profile whose signature fails).
 */
export async function installEnrollmentProfile(
  mobileconfig: Buffer | string,
  options: Parameters<typeof SimulatedIPhone.fromEnrollmentProfile>[1] = {},
  scep: ScepEnrollOptions = {},
): Promise<SimulatedIPhone> {
  const parsed = parseMobileconfig(mobileconfig);
  if (parsed.signed && !parsed.signature?.ok)
    throw new Error(`the enrollment profile's signature is invalid: ${parsed.signature?.reason ?? ''}`);
  const payloads = payloadsOf(parsed.profile);
  const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm');
  const identityPayload = payloads.find((p) => p.PayloadUUID === mdm?.IdentityCertificateUUID);
  if (options.identity || identityPayload?.PayloadType !== 'com.apple.security.scep')
    return SimulatedIPhone.fromEnrollmentProfile(mobileconfig, options);
  const identity = await scepEnroll(scepPayloadOf(identityPayload), scep);
  const phone = SimulatedIPhone.fromEnrollmentProfile(mobileconfig, {
    ...options,
    identity: { certPem: identity.certPem, keyPem: identity.keyPem },
  });
  exchanges.set(phone, identity);
  return phone;
}
