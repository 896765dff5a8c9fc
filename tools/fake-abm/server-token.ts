/**
 * The server token file Apple Business Manager hands out (`…_Token_….p7m`): an S/MIME message
 * whose body is a CMS EnvelopedData encrypted to the certificate the MDM server uploaded, holding
 * a text part `-----BEGIN MESSAGE----- {json} -----END MESSAGE-----` with the OAuth 1.0a
 * credentials. Built the way OpenSSL's `smime -encrypt` builds it (what Apple's file is): RSA
 * PKCS #1 v1.5 key transport to the certificate (by issuer and serial number), AES-256-CBC content.
 * The structure is assembled from PKI.js objects; node:crypto does the encryption.
 */
import * as asn1js from 'asn1js';
import { constants, createCipheriv, publicEncrypt, randomBytes, X509Certificate } from 'node:crypto';
import {
  AlgorithmIdentifier,
  Certificate,
  ContentInfo,
  EncryptedContentInfo,
  EnvelopedData,
  IssuerAndSerialNumber,
  KeyTransRecipientInfo,
  RecipientInfo,
} from 'pkijs';

export interface ServerTokenCredentials {
  consumer_key: string;
  consumer_secret: string;
  access_token: string;
  access_secret: string;
  /** ISO 8601, e.g. 2027-12-01T10:00:00Z. */
  access_token_expiry: string;
}

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** The .p7m file ABM would give for these credentials, encrypted to `certificatePem`. */
export function encryptServerToken(credentials: ServerTokenCredentials, certificatePem: string): string {
  const x509 = new X509Certificate(certificatePem);
  const certificate = Certificate.fromBER(x509.raw);
  const inner = Buffer.from(
    'Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
      `-----BEGIN MESSAGE-----\n${JSON.stringify(credentials)}\n-----END MESSAGE-----\n`,
  );
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(inner), cipher.final()]);
  const encryptedKey = publicEncrypt({ key: x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, key);
  const recipient = new KeyTransRecipientInfo({
    version: 0,
    rid: new IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
    keyEncryptionAlgorithm: new AlgorithmIdentifier({
      algorithmId: OID_RSA_ENCRYPTION,
      algorithmParams: new asn1js.Null(),
    }),
    encryptedKey: new asn1js.OctetString({ valueHex: arrayBuffer(encryptedKey) }),
  });
  const enveloped = new EnvelopedData({
    version: 0,
    recipientInfos: [new RecipientInfo({ variant: 1, value: recipient })],
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: OID_DATA,
      contentEncryptionAlgorithm: new AlgorithmIdentifier({
        algorithmId: OID_AES256_CBC,
        algorithmParams: new asn1js.OctetString({ valueHex: arrayBuffer(iv) }),
      }),
      encryptedContent: new asn1js.OctetString({ valueHex: arrayBuffer(encrypted) }),
    }),
  });
  const der = Buffer.from(
    new ContentInfo({ contentType: OID_ENVELOPED_DATA, content: enveloped.toSchema() }).toSchema().toBER(false),
  );
  const body = der
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')
    .trimEnd();
  return (
    'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\n' +
    'Content-Transfer-Encoding: base64\n' +
    'Content-Disposition: attachment; filename="smime.p7m"\n' +
    'Content-Description: S/MIME Encrypted Message\n\n' +
    `${body}\n`
  );
}
