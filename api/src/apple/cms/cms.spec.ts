import * as asn1js from 'asn1js';
import forge from 'node-forge';
import { createHash } from 'node:crypto';
import { Certificate, ContentInfo, EncapsulatedContentInfo, SignedData } from 'pkijs';
import type { DataSource } from 'typeorm';
import { signAttached, signDetached, Signer } from '../../../../tools/apple-sim/cms';
import { createIdentity, createTestCa, identityFromPkcs12, TestCa } from '../../../../tools/apple-sim/pki';
import { AppleCaService } from '../apple-ca.service';
import {
  CmsVerifyResult,
  forgetKnownPrefixes,
  looksLikeSignedData,
  verifyDetachedSignature,
  verifySignedData,
} from './cms';

const BODY = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Status</key><string>Idle</string>' +
    '<key>UDID</key><string>00008030-001A2B3C4D5E6F70</string></dict></plist>\n',
);

const ca = createTestCa('CMS spec CA');
const device = createIdentity(ca, 'device');
const other = createIdentity(ca, 'other device');

function der(signatureBase64: string): Buffer {
  return Buffer.from(signatureBase64, 'base64');
}

function refused(result: CmsVerifyResult, reason?: string | RegExp): void {
  expect(result.ok).toBe(false);
  expect(result.certificatePem).toBeUndefined();
  if (reason === undefined) expect(typeof result.reason).toBe('string');
  else if (typeof reason === 'string') expect(result.reason).toBe(reason);
  else expect(result.reason).toMatch(reason);
}

/** A ContentInfo(SignedData) built by PKI.js, for shapes forge will not produce. */
function signedDataDer(parts: { certificates?: Buffer[]; signerInfos?: SignedData['signerInfos'] }): string {
  const signedData = new SignedData({
    version: 1,
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    certificates: (parts.certificates ?? []).map((c) => Certificate.fromBER(c)),
    signerInfos: parts.signerInfos ?? [],
  });
  const contentInfo = new ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema(true) });
  return Buffer.from(contentInfo.toSchema().toBER()).toString('base64');
}

function certificateDer(pem: string): Buffer {
  return Buffer.from(
    forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(pem))).getBytes(),
    'binary',
  );
}

describe('verifyDetachedSignature (Mdm-Signature)', () => {
  it('accepts a valid detached signature and returns the signer certificate', () => {
    const signingTime = new Date(Date.UTC(2026, 11, 1, 9, 30, 0));
    const result = verifyDetachedSignature(BODY, signDetached(BODY, device, { signingTime }));
    expect(result).toEqual({
      ok: true,
      certificatePem: expect.stringContaining('-----BEGIN CERTIFICATE-----'),
      certificatesPem: [result.certificatePem],
      digestAlgorithm: 'sha256',
      signingTime,
    });
    expect(forge.pki.certificateFromPem(result.certificatePem ?? '').serialNumber).toBe(device.cert.serialNumber);
    // The same signer again (its certificate now known) and a second one.
    expect(verifyDetachedSignature(BODY, signDetached(BODY, device)).ok).toBe(true);
    expect(verifyDetachedSignature(BODY.toString('utf8'), signDetached(BODY, other)).certificatePem).toBe(
      verifyDetachedSignature(BODY, signDetached(BODY, other)).certificatePem,
    );
  });

  it('accepts SHA-1 (older iOS) unless told otherwise, whitespace in the header, and extra certificates', () => {
    const sha1 = signDetached(BODY, device, { digest: 'sha1' });
    expect(verifyDetachedSignature(BODY, sha1)).toEqual(expect.objectContaining({ ok: true, digestAlgorithm: 'sha1' }));
    refused(verifyDetachedSignature(BODY, sha1, { acceptedDigests: ['sha256'] }), 'digest algorithm sha1 not accepted');
    const folded = signDetached(BODY, device).replace(/.{64}/g, '$&\r\n ');
    expect(verifyDetachedSignature(BODY, folded).ok).toBe(true);
    const withChain = verifyDetachedSignature(
      BODY,
      signDetached(BODY, device, { extraCertificatesPem: [ca.certPem, other.certPem] }),
    );
    expect(withChain.ok).toBe(true);
    expect(withChain.certificatesPem).toHaveLength(3);
    expect(forge.pki.certificateFromPem(withChain.certificatePem ?? '').serialNumber).toBe(device.cert.serialNumber);
  });

  it('refuses the signature of another content', () => {
    const signature = signDetached(BODY, device);
    const tampered = Buffer.from(BODY);
    tampered[tampered.length - 3] ^= 1;
    refused(verifyDetachedSignature(tampered, signature), 'messageDigest does not match the content');
    refused(
      verifyDetachedSignature(Buffer.concat([BODY, Buffer.from(' ')]), signature),
      'messageDigest does not match the content',
    );
    refused(verifyDetachedSignature(Buffer.alloc(0), signature), 'messageDigest does not match the content');
  });

  it('refuses a messageDigest changed to match another content (the signature no longer verifies)', () => {
    const patched = der(signDetached(BODY, device));
    const at = patched.indexOf(createHash('sha256').update(BODY).digest());
    expect(at).toBeGreaterThan(0);
    createHash('sha256').update('other').digest().copy(patched, at);
    refused(verifyDetachedSignature(Buffer.from('other'), patched.toString('base64')), 'bad signature');
  });

  it('refuses a signature made with a key that is not the included certificate’s', () => {
    // The SignedData names and carries the other device's certificate, but the device's key signed.
    const impostor: Signer = { certPem: other.certPem, keyPem: device.keyPem };
    refused(verifyDetachedSignature(BODY, signDetached(BODY, impostor)), 'bad signature');
    // The signature bytes themselves altered.
    const signature = der(signDetached(BODY, device));
    signature[signature.length - 5] ^= 0x40;
    refused(verifyDetachedSignature(BODY, signature.toString('base64')), 'bad signature');
  });

  it('refuses a SignedData whose signer certificate is missing, or that has no signer or two', () => {
    const deviceDer = certificateDer(device.certPem);
    const otherDer = certificateDer(other.certPem);
    refused(
      verifyDetachedSignature(BODY, signedDataDer({ certificates: [deviceDer] })),
      'expected exactly one SignerInfo, found 0',
    );
    const signerInfo = SignedData.fromBER(
      ContentInfo.fromBER(der(signDetached(BODY, device))).content.valueBeforeDecodeView,
    ).signerInfos[0];
    refused(
      verifyDetachedSignature(
        BODY,
        signedDataDer({ certificates: [deviceDer], signerInfos: [signerInfo, signerInfo] }),
      ),
      'expected exactly one SignerInfo, found 2',
    );
    refused(
      verifyDetachedSignature(BODY, signedDataDer({ certificates: [otherDer], signerInfos: [signerInfo] })),
      'signer certificate not included in the SignedData',
    );
    // Rebuilt by PKI.js with the right certificate, the same SignerInfo verifies.
    expect(
      verifyDetachedSignature(BODY, signedDataDer({ certificates: [otherDer, deviceDer], signerInfos: [signerInfo] }))
        .ok,
    ).toBe(true);
  });

  it('refuses an attached signature where a detached one is expected', () => {
    refused(
      verifyDetachedSignature(BODY, signAttached(BODY, device).toString('base64')),
      'the signature is not detached (it encapsulates content)',
    );
  });

  it('refuses garbage, truncated and malformed DER without throwing', () => {
    refused(verifyDetachedSignature(BODY, ''), 'empty signature');
    refused(verifyDetachedSignature(BODY, 'not base64!'), 'signature is not base64');
    refused(verifyDetachedSignature(BODY, 'QUJD='), 'signature is not base64');
    refused(verifyDetachedSignature(BODY, undefined as unknown as string), 'empty signature');
    refused(verifyDetachedSignature(BODY, Buffer.from('garbage').toString('base64')), /^malformed CMS: /);
    refused(verifyDetachedSignature(BODY, 'A'.repeat(20_000)), /^malformed CMS: /);
    const signature = der(signDetached(BODY, device));
    for (let length = 0; length < signature.length; length += 1 + (length % 13)) {
      refused(verifyDetachedSignature(BODY, signature.subarray(0, length).toString('base64')));
    }
    refused(
      verifyDetachedSignature(BODY, Buffer.concat([signature, Buffer.from([0])]).toString('base64')),
      'malformed CMS: 1 trailing bytes after the ASN.1 element',
    );
    // The outer length shortened by 256: the elements inside overrun it (asn1js alone would accept it).
    const overrun = Buffer.from(signature);
    expect(overrun[1]).toBe(0x82);
    overrun[2] -= 1;
    refused(verifyDetachedSignature(BODY, overrun.toString('base64')), /^malformed CMS: /);
    // A certificate and a ContentInfo of another type.
    refused(verifyDetachedSignature(BODY, certificateDer(device.certPem).toString('base64')), /^malformed CMS: /);
    const data = new ContentInfo({ contentType: '1.2.840.113549.1.7.1', content: new asn1js.OctetString() });
    refused(
      verifyDetachedSignature(BODY, Buffer.from(data.toSchema().toBER()).toString('base64')),
      'malformed CMS: ContentInfo is not id-signedData',
    );
    // Deep nesting.
    const deep = Buffer.concat([Buffer.alloc(200, 0x30).map((b, i) => (i % 2 ? 0x80 : b)), Buffer.alloc(200)]);
    refused(verifyDetachedSignature(BODY, deep.toString('base64')), /^malformed CMS: /);
  });

  it('never throws on a single-byte change of a valid signature, and refuses every change of what is signed', () => {
    const signature = der(signDetached(BODY, device));
    const signerInfo = SignedData.fromBER(ContentInfo.fromBER(signature).content.valueBeforeDecodeView).signerInfos[0];
    const attributes = Buffer.from(signerInfo.signedAttrs?.encodedValue ?? new ArrayBuffer(0));
    attributes[0] = 0xa0; // as carried: [0] IMPLICIT
    const signed = { from: signature.indexOf(attributes), length: attributes.length };
    const value = Buffer.from(signerInfo.signature.valueBlock.valueHexView);
    const signatureValue = { from: signature.indexOf(value), length: value.length };
    expect(signed.from).toBeGreaterThan(0);
    expect(signatureValue.from).toBeGreaterThan(signed.from);
    const inside = (at: number, range: { from: number; length: number }) =>
      at >= range.from && at < range.from + range.length;
    const certificate = certificateDer(device.certPem);
    const inCertificate = { from: signature.indexOf(certificate), length: certificate.length };
    expect(inCertificate.from).toBeGreaterThan(0);
    for (let at = 0; at < signature.length; at++) {
      // Every byte but those of the certificate (one in five of them: each change is a new certificate to read).
      if (inside(at, inCertificate) && at % 5 !== 0) continue;
      for (const xor of [0x01, 0xff]) {
        const changed = Buffer.from(signature);
        changed[at] ^= xor;
        const result = verifyDetachedSignature(BODY, changed.toString('base64'));
        if (!result.ok) expect(typeof result.reason).toBe('string');
        if (inside(at, signed) || inside(at, signatureValue)) expect(result.ok).toBe(false);
      }
    }
  });

  it('reads a device’s next messages from the prefix it already knows exactly as a whole decoding would', () => {
    const first = der(signDetached(BODY, device, { signingTime: new Date(Date.UTC(2026, 11, 1, 9, 0, 0)) }));
    const next = der(signDetached(BODY, device, { signingTime: new Date(Date.UTC(2026, 11, 1, 9, 0, 5)) }));
    expect(next.length).toBe(first.length);
    const signedData = ContentInfo.fromBER(next).content as asn1js.Sequence;
    const signerInfos = Buffer.from(
      signedData.valueBlock.value[signedData.valueBlock.value.length - 1].valueBeforeDecodeView,
    );
    const from = next.indexOf(signerInfos);
    expect(from).toBeGreaterThan(0);
    expect(next.subarray(0, from).equals(first.subarray(0, from))).toBe(true);
    /** The device's first message seen: its prefix is known from then on. */
    const known = () => expect(verifyDetachedSignature(BODY, first.toString('base64')).ok).toBe(true);
    const fromScratch = (signature: Buffer) => {
      forgetKnownPrefixes();
      return verifyDetachedSignature(BODY, signature.toString('base64'));
    };
    forgetKnownPrefixes();
    known();
    expect(verifyDetachedSignature(BODY, next.toString('base64'))).toEqual(fromScratch(next));
    expect(fromScratch(next).signingTime).toEqual(new Date(Date.UTC(2026, 11, 1, 9, 0, 5)));
    // Every single-byte change of the signerInfos, the part read on its own.
    for (let at = from; at < next.length; at++) {
      for (const xor of [0xff]) {
        const changed = Buffer.from(next);
        changed[at] ^= xor;
        known();
        const withPrefix = verifyDetachedSignature(BODY, changed.toString('base64'));
        // (Some stay valid: the version, the NULL parameters of the algorithms are not signed.)
        expect(withPrefix).toEqual(fromScratch(changed));
      }
    }
    // The same prefix with another SignerInfo of the same length: another body's signature.
    known();
    const otherBody = der(signDetached(Buffer.from('other body'), device));
    const spliced = Buffer.concat([next.subarray(0, from), otherBody.subarray(from)]);
    expect(spliced.length).toBe(next.length);
    refused(verifyDetachedSignature(BODY, spliced.toString('base64')), 'messageDigest does not match the content');
    expect(verifyDetachedSignature(Buffer.from('other body'), spliced.toString('base64')).ok).toBe(true);
  });

  it('finds the signer by SubjectKeyIdentifier too', () => {
    const deviceDer = certificateDer(device.certPem);
    const ski = Certificate.fromBER(deviceDer).extensions?.find((e) => e.extnID === '2.5.29.14')?.parsedValue as
      asn1js.OctetString | undefined;
    expect(ski).toBeInstanceOf(asn1js.OctetString);
    const signerInfo = SignedData.fromBER(
      ContentInfo.fromBER(der(signDetached(BODY, device))).content.valueBeforeDecodeView,
    ).signerInfos[0];
    signerInfo.version = 3;
    signerInfo.sid = new asn1js.Primitive({
      idBlock: { tagClass: 3, tagNumber: 0 },
      valueHex: ski?.valueBlock.valueHexView ?? new Uint8Array(0),
    });
    const bySki = verifyDetachedSignature(
      BODY,
      signedDataDer({ certificates: [deviceDer], signerInfos: [signerInfo] }),
    );
    expect(bySki.ok).toBe(true);
    refused(
      verifyDetachedSignature(
        BODY,
        signedDataDer({ certificates: [certificateDer(other.certPem)], signerInfos: [signerInfo] }),
      ),
      'signer certificate not included in the SignedData',
    );
  });
});

describe('verifySignedData and looksLikeSignedData (signed profiles)', () => {
  it('returns the encapsulated content of a valid signature, and refuses a tampered one', () => {
    const signed = signAttached(BODY, device);
    expect(looksLikeSignedData(signed)).toBe(true);
    expect(looksLikeSignedData(BODY)).toBe(false);
    expect(looksLikeSignedData(Buffer.alloc(0))).toBe(false);
    const result = verifySignedData(signed);
    expect(result).toEqual(expect.objectContaining({ ok: true, content: BODY, digestAlgorithm: 'sha256' }));
    const at = signed.indexOf(Buffer.from('Idle'));
    const tampered = Buffer.from(signed);
    tampered[at] = 'X'.charCodeAt(0);
    const refusedResult = verifySignedData(tampered);
    expect(refusedResult).toEqual(
      expect.objectContaining({ ok: false, reason: 'messageDigest does not match the content' }),
    );
    expect(refusedResult.content?.toString('utf8')).toContain('Xdle');
    expect(verifySignedData(der(signDetached(BODY, device)))).toEqual({ ok: false, reason: 'no encapsulated content' });
    expect(verifySignedData(Buffer.from('junk')).ok).toBe(false);
  });
});

describe('the Mdm-Signature and the CA check together (what MdmIdentityService does with them)', () => {
  /** The apple_ca table of one row, in memory. */
  function memoryDb(): DataSource {
    let row: { cert_pem: string; key_pem: string } | undefined;
    return {
      query: (sql: string, parameters?: string[]) => {
        if (sql.trim().startsWith('INSERT') && !row && parameters)
          row = { cert_pem: parameters[0], key_pem: parameters[1] };
        return Promise.resolve(sql.trim().startsWith('SELECT') && row ? [row] : []);
      },
    } as unknown as DataSource;
  }

  const db = memoryDb();
  const caService = new AppleCaService(db);

  /** The device serial a request proves, or why it is refused. */
  async function deviceOf(body: Buffer, signature: string): Promise<string> {
    const verified = verifyDetachedSignature(body, signature);
    if (!verified.ok || !verified.certificatePem) return 'bad-signature';
    return (await caService.serialIfOurs(verified.certificatePem)) ?? 'unknown-identity';
  }

  async function ourCa(): Promise<TestCa> {
    const [row] = (await db.query('SELECT cert_pem, key_pem FROM apple_ca WHERE id = 1')) as {
      cert_pem: string;
      key_pem: string;
    }[];
    return {
      certPem: row.cert_pem,
      keyPem: row.key_pem,
      cert: forge.pki.certificateFromPem(row.cert_pem),
      key: forge.pki.privateKeyFromPem(row.key_pem) as forge.pki.rsa.PrivateKey,
    };
  }

  it('gives the serial of an identity this server issued, and refuses the others', async () => {
    const issued = await caService.issueIdentity('device');
    const identity = identityFromPkcs12(issued.p12, issued.password);
    expect(await deviceOf(BODY, signDetached(BODY, identity))).toBe(issued.serial);
    // Tampered body, garbage.
    expect(await deviceOf(Buffer.from('x'), signDetached(BODY, identity))).toBe('bad-signature');
    expect(await deviceOf(BODY, '////')).toBe('bad-signature');
    expect(await deviceOf(BODY, Buffer.from([0x30, 0x80]).toString('base64'))).toBe('bad-signature');
    // A valid signature by an identity of a foreign CA.
    expect(await deviceOf(BODY, signDetached(BODY, device))).toBe('unknown-identity');
    // Signed by our CA's key, but expired: the signature itself is valid, the CA check refuses it.
    const expired = createIdentity(await ourCa(), 'expired', { validityDays: -1 });
    expect(verifyDetachedSignature(BODY, signDetached(BODY, expired)).ok).toBe(true);
    expect(await deviceOf(BODY, signDetached(BODY, expired))).toBe('unknown-identity');
    // Still valid, issued by our CA: accepted.
    const fresh = createIdentity(await ourCa(), 'fresh');
    expect(await deviceOf(BODY, signDetached(BODY, fresh))).toBe(fresh.cert.serialNumber.toLowerCase());
  });
});
