import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import forge from 'node-forge';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface IssuedIdentity {
  serial: string;
  certPem: string;
  p12: Buffer;
  password: string;
}

/**
 * The service's own certificate authority for device identities (node-forge, no hand-written
 * ASN.1). A device proves each request with the identity it received in its enrollment profile.
 */
@Injectable()
export class AppleCaService {
  private ca?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  /** The CA certificate for node:crypto, which checks a device certificate natively on every MDM request. */
  private caX509?: X509Certificate;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private async load(): Promise<{ cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }> {
    if (this.ca) return this.ca;
    let [row] = (await this.db.query(`SELECT cert_pem, key_pem FROM apple_ca WHERE id = 1`)) as {
      cert_pem: string;
      key_pem: string;
    }[];
    if (!row) {
      const keys = rsaKeyPair();
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.publicKey;
      cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
      // ASCII only: forge writes names as PrintableString.
      const subject = [
        { name: 'commonName', value: 'MDM applications Etat - autorite des appareils' },
        { name: 'organizationName', value: 'DINUM' },
      ];
      cert.setSubject(subject);
      cert.setIssuer(subject);
      cert.setExtensions([
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ]);
      cert.sign(keys.privateKey, forge.md.sha256.create());
      await this.db.query(
        `INSERT INTO apple_ca (id, cert_pem, key_pem) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
        [forge.pki.certificateToPem(cert), forge.pki.privateKeyToPem(keys.privateKey)],
      );
      [row] = (await this.db.query(`SELECT cert_pem, key_pem FROM apple_ca WHERE id = 1`)) as {
        cert_pem: string;
        key_pem: string;
      }[];
    }
    this.ca = {
      cert: forge.pki.certificateFromPem(row.cert_pem),
      key: forge.pki.privateKeyFromPem(row.key_pem) as forge.pki.rsa.PrivateKey,
    };
    return this.ca;
  }

  async caPem(): Promise<string> {
    return forge.pki.certificateToPem((await this.load()).cert);
  }

  /** A device identity (client certificate + key) packed as PKCS#12 for the enrollment profile. */
  async issueIdentity(commonName: string): Promise<IssuedIdentity> {
    const ca = await this.load();
    const keys = rsaKeyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = `02${randomBytes(12).toString('hex')}`;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 2 * 365 * 86_400_000);
    cert.setSubject([{ name: 'commonName', value: commonName }]);
    cert.setIssuer(ca.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ]);
    cert.sign(ca.key, forge.md.sha256.create());
    const password = randomBytes(12).toString('base64url');
    const p12 = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], password, {
      algorithm: '3des',
      friendlyName: commonName,
    });
    return {
      serial: cert.serialNumber.toLowerCase(),
      certPem: forge.pki.certificateToPem(cert),
      p12: Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'),
      password,
    };
  }

  /**
   * The serial of a certificate our CA signed and still valid, or null if another CA did (or it is not
   * a certificate). node:crypto rather than forge: this runs on every check-in and command poll, and
   * forge's JavaScript RSA check was 39 % of a poll (BENCHMARKS.md).
   */
  async serialIfOurs(certPem: string): Promise<string | null> {
    const ca = await this.load();
    this.caX509 ??= new X509Certificate(forge.pki.certificateToPem(ca.cert));
    try {
      const cert = new X509Certificate(certPem);
      if (!cert.checkIssued(this.caX509) || !cert.verify(this.caX509.publicKey)) return null;
      const now = Date.now();
      if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return null;
      return cert.serialNumber.toLowerCase();
    } catch {
      return null;
    }
  }
}

/** RSA keys from node:crypto (native, ~100 ms) rather than forge's JavaScript generator (seconds). */
function rsaKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
  };
}
