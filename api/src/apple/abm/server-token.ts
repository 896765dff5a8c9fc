/**
 * The server token file Apple Business Manager gives IT (`…_Token_….p7m`): an S/MIME message whose
 * body is a CMS EnvelopedData encrypted to the certificate this service created for the ministry.
 * Inside, a text part `-----BEGIN MESSAGE----- {json} -----END MESSAGE-----` holds the OAuth 1.0a
 * credentials of the ministry's MDM server in ABM.
 *
 * The CMS structure is read by PKI.js (asn1js); the recipient must be our certificate (issuer and
 * serial number). Key transport is RSA PKCS #1 v1.5 as OpenSSL's smime writes it (or RSA-OAEP):
 * Node refuses PKCS #1 v1.5 private decryption since the Marvin advisory, so that one step is done
 * by node-forge; the content (AES-CBC or 3DES-CBC) is decrypted by node:crypto.
 */
import * as asn1js from 'asn1js';
import { constants, createDecipheriv, privateDecrypt, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { Certificate, ContentInfo, EnvelopedData, IssuerAndSerialNumber, KeyTransRecipientInfo } from 'pkijs';
import { AppleError } from '../apple.error';

export interface ServerTokenCredentials {
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessSecret: string;
  accessTokenExpiry: Date;
}

const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_RSA_OAEP = '1.2.840.113549.1.1.7';
const CIPHERS: Record<string, string> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
  '1.2.840.113549.3.7': 'des-ede3-cbc',
};

function invalid(why: string): AppleError {
  return new AppleError(
    'abm-token-invalid',
    'invalid',
    `This is not a server token from Apple Business Manager (${why}): download it again from ABM (Preferences → your MDM server → Download token) and upload the .p7m file as it is.`,
  );
}

/** The DER of the EnvelopedData: the S/MIME body (base64 after the MIME headers), or PEM, or raw base64. */
function envelopeDer(file: string): Buffer {
  const text = file.replace(/\r\n/g, '\n');
  const pem = /-----BEGIN (?:PKCS7|CMS)-----([\s\S]*?)-----END (?:PKCS7|CMS)-----/.exec(text);
  let base64: string;
  if (pem) base64 = pem[1];
  else {
    const split = text.indexOf('\n\n');
    base64 = /^[A-Za-z-]+:/.test(text) && split >= 0 ? text.slice(split + 2) : text;
  }
  const compact = base64.replace(/\s+/g, '');
  if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw invalid('no base64 body');
  return Buffer.from(compact, 'base64');
}

function bytes(view: ArrayBuffer | Uint8Array): Buffer {
  return Buffer.from(view instanceof Uint8Array ? view : new Uint8Array(view));
}

/**
 * Decrypts and reads the token. Refuses, with a sentence IT can act on, a file that is not a token,
 * a token encrypted to another certificate (an older one, another ministry's), and credentials that
 * are missing or expired.
 */
export function decryptServerToken(file: string, certificatePem: string, keyPem: string): ServerTokenCredentials {
  let enveloped: EnvelopedData;
  try {
    const info = ContentInfo.fromBER(envelopeDer(file));
    if (info.contentType !== OID_ENVELOPED_DATA) throw invalid('the CMS content is not enveloped data');
    enveloped = new EnvelopedData({ schema: info.content });
  } catch (e) {
    if (e instanceof AppleError) throw e;
    throw invalid('the body is not a CMS message');
  }
  const ours = Certificate.fromBER(new X509Certificate(certificatePem).raw);
  const recipient = enveloped.recipientInfos
    .map((r) => (r.variant === 1 ? (r.value as KeyTransRecipientInfo) : null))
    .find(
      (r): r is KeyTransRecipientInfo =>
        r !== null &&
        r.rid instanceof IssuerAndSerialNumber &&
        r.rid.issuer.isEqual(ours.issuer) &&
        r.rid.serialNumber.isEqual(ours.serialNumber),
    );
  if (!recipient)
    throw new AppleError(
      'abm-token-wrong-certificate',
      'invalid',
      "This server token was encrypted to another certificate than this ministry's current one: in Apple Business Manager, upload the certificate this service gives now (Edit MDM server → Upload public key), then download a new token and import it.",
    );
  let key: Buffer;
  try {
    const encryptedKey = bytes(recipient.encryptedKey.valueBlock.valueHexView);
    const algorithm = recipient.keyEncryptionAlgorithm.algorithmId;
    if (algorithm === OID_RSA_OAEP) {
      key = privateDecrypt({ key: keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, encryptedKey);
    } else if (algorithm === OID_RSA_ENCRYPTION) {
      const privateKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
      key = Buffer.from(privateKey.decrypt(encryptedKey.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary');
    } else throw invalid(`unsupported key encryption ${algorithm}`);
  } catch (e) {
    if (e instanceof AppleError) throw e;
    throw invalid('its key cannot be decrypted with this ministry’s private key');
  }
  const content = enveloped.encryptedContentInfo;
  const cipher = CIPHERS[content.contentEncryptionAlgorithm.algorithmId];
  const params = content.contentEncryptionAlgorithm.algorithmParams as unknown;
  if (!cipher || !(params instanceof asn1js.OctetString)) throw invalid('unsupported content encryption');
  let plain: string;
  try {
    const decipher = createDecipheriv(cipher, key, bytes(params.valueBlock.valueHexView));
    plain = Buffer.concat([decipher.update(bytes(content.getEncryptedContent())), decipher.final()]).toString('utf8');
  } catch {
    throw invalid('its content cannot be decrypted');
  }
  const json =
    /-----BEGIN MESSAGE-----([\s\S]*?)-----END MESSAGE-----/.exec(plain)?.[1] ?? plain.slice(plain.indexOf('{'));
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(json.trim()) as Record<string, unknown>;
  } catch {
    throw invalid('the decrypted message is not JSON');
  }
  const field = (name: string): string => {
    const v = value[name];
    if (typeof v !== 'string' || v === '') throw invalid(`${name} is missing`);
    return v;
  };
  const expiry = new Date(field('access_token_expiry'));
  if (Number.isNaN(expiry.getTime())) throw invalid('access_token_expiry is not a date');
  if (expiry.getTime() < Date.now())
    throw new AppleError(
      'abm-token-expired',
      'invalid',
      `This server token expired on ${expiry.toISOString().slice(0, 10)}: download a renewed one from Apple Business Manager.`,
    );
  return {
    consumerKey: field('consumer_key'),
    consumerSecret: field('consumer_secret'),
    accessToken: field('access_token'),
    accessSecret: field('access_secret'),
    accessTokenExpiry: expiry,
  };
}
