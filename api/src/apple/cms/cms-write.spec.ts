import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, generateKeyPairSync, KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { createTestCa } from '../../../../tools/apple-sim/pki';
import { verifyDetachedSignature, verifySignedData } from './cms';
import {
  certificatesOnlyCms,
  CmsWriteError,
  envelopeCms,
  openEnvelopeCms,
  pemCertificates,
  signCms,
} from './cms-write';

const ca = createTestCa('cms-write test');
const certificate = pemCertificates(ca.certPem)[0];
const key = createPrivateKey(ca.keyPem);

describe('CMS writing', () => {
  it('signs with the content inside (DER), which the verifier accepts, naming the signer', () => {
    const signed = signCms(Buffer.from('<plist>é</plist>'), { certificates: [certificate], key });
    const verdict = verifySignedData(signed);
    expect(verdict).toMatchObject({ ok: true, digestAlgorithm: 'sha256' });
    expect(verdict.content?.toString('utf8')).toBe('<plist>é</plist>');
    expect(new X509Certificate(verdict.certificatePem ?? '').raw.equals(certificate)).toBe(true);
    // DER: forge (a strict DER reader) re-encodes it byte for byte.
    expect(Buffer.from(forge.asn1.toDer(forge.asn1.fromDer(signed.toString('binary'))).getBytes(), 'binary')).toEqual(
      signed,
    );
    const tampered = Buffer.from(signed);
    tampered[signed.indexOf(Buffer.from('plist'))] ^= 1;
    expect(verifySignedData(tampered).ok).toBe(false);
  });

  it('signs with an EC key too (a TLS certificate of the public host may be ECDSA)', async () => {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=mdm.example.gouv.fr',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: algorithm,
      keys,
    });
    const key = KeyObject.from(keys.privateKey);
    const signed = signCms(Buffer.from('<plist/>'), { certificates: [Buffer.from(cert.rawData)], key });
    expect(verifySignedData(signed)).toMatchObject({ ok: true, digestAlgorithm: 'sha256' });
  });

  it('signs without content (a SCEP failure): the signature covers the empty content', () => {
    const signed = signCms(undefined, { certificates: [certificate], key }, { digest: 'sha1' });
    expect(verifyDetachedSignature(Buffer.alloc(0), signed.toString('base64'))).toMatchObject({
      ok: true,
      digestAlgorithm: 'sha1',
    });
  });

  it.each(['aes-128-cbc', 'aes-256-cbc', 'des-ede3-cbc'] as const)('envelopes and opens with %s', (cipher) => {
    const opened = openEnvelopeCms(envelopeCms(Buffer.from('secret'), certificate, cipher), key, certificate);
    expect(opened).toEqual({ content: Buffer.from('secret'), cipher });
  });

  it('opens single DES (micromdm scepclient) and refuses what it cannot open', () => {
    // An EnvelopedData as scepclient makes it (DES-CBC): forge's, its AES content replaced by DES.
    const p7 = forge.pkcs7.createEnvelopedData() as forge.pkcs7.PkcsEnvelopedData & {
      encryptedContent: {
        algorithm: string;
        parameter: forge.util.ByteStringBuffer;
        content: forge.util.ByteStringBuffer;
      };
      recipients: { encryptedContent: { content: string } }[];
    };
    const caCert = forge.pki.certificateFromPem(ca.certPem);
    p7.addRecipient(caCert);
    p7.content = forge.util.createBuffer('legacy');
    p7.encrypt();
    const desKey = forge.random.getBytesSync(8);
    const iv = forge.random.getBytesSync(8);
    const des = forge.cipher.createCipher('DES-CBC', desKey);
    des.start({ iv });
    des.update(forge.util.createBuffer('legacy'));
    des.finish();
    p7.encryptedContent.algorithm = forge.pki.oids['desCBC'];
    p7.encryptedContent.parameter = forge.util.createBuffer(iv);
    p7.encryptedContent.content = des.output;
    p7.recipients[0].encryptedContent.content = (caCert.publicKey as forge.pki.rsa.PublicKey).encrypt(desKey);
    const der = Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
    expect(openEnvelopeCms(der, key, certificate)).toEqual({ content: Buffer.from('legacy'), cipher: 'des-cbc' });

    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => openEnvelopeCms(der, other.privateKey, certificate)).toThrow(CmsWriteError);
    expect(() => openEnvelopeCms(Buffer.from('nope'), key, certificate)).toThrow(/ASN\.1|EnvelopedData/);
  });

  it('writes a certificates-only SignedData', () => {
    const degenerate = certificatesOnlyCms([certificate]);
    const p7 = forge.pkcs7.messageFromAsn1(forge.asn1.fromDer(degenerate.toString('binary'))) as unknown as {
      certificates: forge.pki.Certificate[];
    };
    expect(p7.certificates).toHaveLength(1);
  });
});
