import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import forge from 'node-forge';
import { LRUCache } from 'lru-cache';
import {
  createHash,
  createPrivateKey,
  generateKeyPair,
  KeyObject,
  randomBytes,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';

const generateRsa = promisify(generateKeyPair);
/** Device certificates remembered as proven (about 40 MB at most). */
const VERIFIED_CERTIFICATES = 200_000;
/** Quiet time after the last profile download before the pool refills. */
const REFILL_AFTER_MS = 1000;

export interface IssuedIdentity {
  serial: string;
  certPem: string;
  p12: Buffer;
  password: string;
}

interface LoadedCa {
  cert: forge.pki.Certificate;
  /** node:crypto signs the device certificates (forge's JavaScript RSA took 40 ms a certificate). */
  key: KeyObject;
}

/**
 * The service's own certificate authority for device identities (node-forge builds the ASN.1,
 * node:crypto generates the keys and signs). A device proves each request with the identity it
 * received in its enrollment profile.
 *
 * Issuing an identity costs about 230 ms of CPU (RSA key generation about 170 ms, PKCS#12 about
 * 20 ms), so a few identities are kept ready (AppleSettings.identityPool): a profile download takes
 * one and the pool refills in the background (key generation on libuv's threads). The pool lives in
 * this process's memory only: the private keys are never written anywhere before they are in a
 * profile, each is handed out once (shift), and a restart simply regenerates them. The pool is of no
 * use to anyone who could read it, beyond what the identity itself gives: an identity that no
 * enrollment took has no `apple_identity` row, so the MDM endpoints refuse it.
 */
@Injectable()
export class AppleCaService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AppleCa');
  private ca?: LoadedCa;
  private loading?: Promise<LoadedCa>;
  /** The CA certificate for node:crypto, which checks a device certificate natively on every MDM request. */
  private caX509?: X509Certificate;
  private readonly pool: IssuedIdentity[] = [];
  /**
   * Device certificates whose CA signature was checked, by SHA-256 of their PEM (bounded: one
   * entry per phone polling, about 200 bytes each). Only ours are kept, never a refusal, so a
   * flood of foreign certificates cannot evict the phones'.
   */
  private readonly verified = new LRUCache<string, { serial: string; notBefore: number; notAfter: number }>({
    max: VERIFIED_CERTIFICATES,
  });
  private filling = 0;
  private pausedUntil = 0;
  private lastTaken = 0;
  private refillTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Optional() @Inject(APPLE_SETTINGS) private readonly settings?: AppleSettings,
  ) {}

  private get poolSize(): number {
    return this.settings?.identityPool ?? 0;
  }

  onApplicationBootstrap(): void {
    this.refill();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.refillTimer);
    this.pool.length = 0;
  }

  /** Identities ready to be handed out now. */
  get ready(): number {
    return this.pool.length;
  }

  /** Resolves once the pool holds `count` identities (at most its size); the benches wait on it. */
  async whenReady(count = this.poolSize): Promise<void> {
    const target = Math.min(count, this.poolSize);
    this.refill();
    while (this.pool.length < target && !this.stopped) await new Promise((r) => setTimeout(r, 50));
  }

  /**
   * A device identity for one enrollment profile: a ready one from the pool when there is one,
   * otherwise issued now. Never the same identity twice: the pool hands each out once.
   */
  async takeIdentity(): Promise<IssuedIdentity> {
    const ready = this.pool.shift();
    this.lastTaken = Date.now();
    this.refill();
    return ready ?? this.issueIdentity(deviceName());
  }

  /**
   * Tops the pool up, as many identities at a time as there are cores (key generation runs off the
   * event loop). Not during a wave of downloads, which the pool is there to absorb: the certificate
   * and the PKCS#12 cost the event loop about 25 ms an identity, so the refill waits until downloads
   * pause for a second.
   */
  private refill(): void {
    if (this.stopped || this.pool.length >= this.poolSize) return;
    const quietIn = Math.max(this.pausedUntil, this.lastTaken + REFILL_AFTER_MS) - Date.now();
    if (quietIn > 0) {
      clearTimeout(this.refillTimer);
      this.refillTimer = setTimeout(() => this.refill(), quietIn).unref();
      return;
    }
    const parallel = Math.max(1, availableParallelism());
    while (!this.stopped && this.filling < parallel && this.pool.length + this.filling < this.poolSize) {
      this.filling++;
      this.issueIdentity(deviceName())
        .then((identity) => {
          if (!this.stopped) this.pool.push(identity);
        })
        .catch((e: Error) => {
          // Tried again in a few seconds (or at the next download, which issues its own meanwhile).
          if (!this.stopped) this.logger.warn(`identity pool: ${e.message}`);
          this.pausedUntil = Date.now() + 5000;
        })
        .finally(() => {
          this.filling--;
          this.refill();
        });
    }
  }

  private load(): Promise<LoadedCa> {
    if (this.ca) return Promise.resolve(this.ca);
    this.loading ??= this.loadOnce().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async loadOnce(): Promise<LoadedCa> {
    if (this.ca) return this.ca;
    let [row] = (await this.db.query(`SELECT cert_pem, key_pem FROM apple_ca WHERE id = 1`)) as {
      cert_pem: string;
      key_pem: string;
    }[];
    if (!row) {
      const keys = await rsaKeyPair();
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
    this.ca = { cert: forge.pki.certificateFromPem(row.cert_pem), key: createPrivateKey(row.key_pem) };
    return this.ca;
  }

  async caPem(): Promise<string> {
    return forge.pki.certificateToPem((await this.load()).cert);
  }

  /** A device identity (client certificate + key) packed as PKCS#12 for the enrollment profile. */
  async issueIdentity(commonName: string): Promise<IssuedIdentity> {
    const ca = await this.load();
    const keys = await rsaKeyPair();
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
    signWithNodeCrypto(cert, ca.key);
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
   * The CA's certificate (DER) and key, for the SCEP endpoint: a phone encrypts its request to this
   * certificate and checks that the answer is signed by it (RFC 8894 without a separate RA).
   */
  async authority(): Promise<{ certificate: Buffer; key: KeyObject }> {
    const ca = await this.load();
    return {
      certificate: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(ca.cert)).getBytes(), 'binary'),
      key: ca.key,
    };
  }

  /**
   * A certificate of our CA for an RSA key made elsewhere: a device identity whose key the phone
   * generated (SCEP; client authentication, as issueIdentity's), or the certificate that signs
   * enrollment profiles when none is configured. serialIfOurs accepts the first like any identity.
   */
  async issueCertificate(
    publicKey: KeyObject,
    commonName: string,
    usage: 'device' | 'profile-signing',
  ): Promise<{ serial: string; certPem: string; certDer: Buffer }> {
    if (publicKey.asymmetricKeyType !== 'rsa') throw new Error('only RSA keys are certified');
    const ca = await this.load();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    cert.serialNumber = `${usage === 'device' ? '03' : '04'}${randomBytes(12).toString('hex')}`;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + (usage === 'device' ? 2 * 365 : 365) * 86_400_000);
    cert.setSubject([{ name: 'commonName', value: commonName }]);
    cert.setIssuer(ca.cert.subject.attributes);
    cert.setExtensions(
      usage === 'device'
        ? [
            { name: 'basicConstraints', cA: false },
            { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
            { name: 'extKeyUsage', clientAuth: true },
          ]
        : [
            { name: 'basicConstraints', cA: false },
            { name: 'keyUsage', digitalSignature: true, critical: true },
          ],
    );
    signWithNodeCrypto(cert, ca.key);
    return {
      serial: cert.serialNumber.toLowerCase(),
      certPem: forge.pki.certificateToPem(cert),
      certDer: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'),
    };
  }

  /**
   * The serial of a certificate our CA signed and still valid, or null if another CA did (or it is not
   * a certificate). node:crypto rather than forge: this runs on every check-in and command poll, and
   * forge's JavaScript RSA check was 39 % of a poll (BENCHMARKS.md).
   */
  async serialIfOurs(certPem: string): Promise<string | null> {
    // A certificate proven once is known by its fingerprint: the CA signature does not change, the
    // validity dates are checked again on every request. What can change (revocation, the UDID it
    // is bound to) is not cached here: MdmProtocolService reads it from the database on every request.
    const fingerprint = createHash('sha256').update(certPem).digest();
    const key = fingerprint.toString('base64');
    const known = this.verified.get(key);
    const now = Date.now();
    if (known) return known.notBefore <= now && now <= known.notAfter ? known.serial : null;
    const ca = await this.load();
    this.caX509 ??= new X509Certificate(forge.pki.certificateToPem(ca.cert));
    try {
      const cert = new X509Certificate(certPem);
      if (!cert.checkIssued(this.caX509) || !cert.verify(this.caX509.publicKey)) return null;
      const proven = {
        serial: cert.serialNumber.toLowerCase(),
        notBefore: Date.parse(cert.validFrom),
        notAfter: Date.parse(cert.validTo),
      };
      this.verified.set(key, proven);
      if (proven.notBefore > now || proven.notAfter < now) return null;
      return proven.serial;
    } catch {
      return null;
    }
  }
}

/** The common name of a device identity (the ministry is the enrollment's, known when it is taken). */
function deviceName(): string {
  return `appareil ${randomUUID()}`;
}

/**
 * Signs the certificate as forge's `cert.sign(key, sha256)` does (same fields, same DER), with
 * node:crypto's native RSA: forge computes the to-be-signed structure, node:crypto the signature.
 */
function signWithNodeCrypto(cert: forge.pki.Certificate, key: KeyObject): void {
  // getTBSCertificate is part of forge's pki API but missing from @types/node-forge.
  const pki = forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const signed = cert as forge.pki.Certificate & { signatureOid: string; signature: string };
  signed.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  cert.tbsCertificate = pki.getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  signed.signature = sign('sha256', tbs, key).toString('binary');
}

/** RSA keys from node:crypto, generated on libuv's threads (native, ~170 ms of CPU, not on the event loop). */
async function rsaKeyPair(): Promise<{ publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey }> {
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
  };
}
