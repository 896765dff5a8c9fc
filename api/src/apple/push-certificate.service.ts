import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import forge from 'node-forge';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { AppleError } from './apple.error';

const OID_USER_ID = '0.9.2342.19200300.100.1.1';
export const EXPIRY_WARNING_DAYS = 30;
const CACHE_MS = 60_000;

export interface PushCertificateView {
  topic: string;
  notAfter: Date;
  daysLeft: number;
  warning: string | null;
  uploadedBy: string;
  uploadedAt: Date;
}

export interface ActivePushCertificate {
  topic: string;
  certPem: string;
  keyPem: string;
}

/** The MDM push certificate (from Apple's push certificates portal): its topic and expiry. */
@Injectable()
export class PushCertificateService {
  private cached?: { value: ActivePushCertificate | null; until: number };

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  async upload(principal: Principal, certificatePem: string, privateKeyPem: string): Promise<PushCertificateView> {
    this.access.requireAccess(principal, 'platform.configure', null);
    let cert: forge.pki.Certificate;
    let key: forge.pki.PrivateKey;
    try {
      cert = forge.pki.certificateFromPem(certificatePem);
      key = forge.pki.privateKeyFromPem(privateKeyPem);
    } catch {
      throw new AppleError('invalid-certificate', 'invalid', 'The certificate or the private key is not valid PEM.');
    }
    const topic = cert.subject.getField({ type: OID_USER_ID })?.value as string | undefined;
    if (!topic || !topic.startsWith('com.apple.mgmt.')) {
      throw new AppleError(
        'not-mdm-push-certificate',
        'invalid',
        'This is not an MDM push certificate: its subject has no com.apple.mgmt… UID (topic).',
      );
    }
    const publicKey = cert.publicKey as forge.pki.rsa.PublicKey;
    if (publicKey.n.compareTo((key as forge.pki.rsa.PrivateKey).n) !== 0) {
      throw new AppleError('key-mismatch', 'invalid', 'The private key does not belong to this certificate.');
    }
    if (cert.validity.notAfter < new Date())
      throw new AppleError(
        'expired',
        'invalid',
        `This certificate expired on ${cert.validity.notAfter.toISOString()}.`,
      );
    await this.db.transaction(async (tx) => {
      const [previous] = (await tx.query(`SELECT topic, not_after FROM apple_push_certificate WHERE active`)) as {
        topic: string;
        not_after: Date;
      }[];
      if (previous && previous.topic !== topic) {
        // Renewing keeps the topic; another topic would orphan every enrolled iPhone.
        throw new AppleError(
          'topic-changed',
          'conflict',
          `The new certificate's topic (${topic}) differs from the current one (${previous.topic}): renew the existing certificate at Apple instead, or every enrolled iPhone must enroll again.`,
        );
      }
      await tx.query(`UPDATE apple_push_certificate SET active = false WHERE active`);
      await tx.query(
        `INSERT INTO apple_push_certificate (topic, cert_pem, key_pem, not_after, uploaded_by) VALUES ($1, $2, $3, $4, $5)`,
        [topic, certificatePem, privateKeyPem, cert.validity.notAfter, actorOf(principal).label],
      );
      await this.audit.record(tx, actorOf(principal), {
        action: 'apple.push-certificate-uploaded',
        entityType: 'apple-push-certificate',
        entityId: topic,
        before: previous ? { topic: previous.topic, notAfter: previous.not_after } : null,
        after: { topic, notAfter: cert.validity.notAfter.toISOString() },
      });
    });
    this.cached = undefined;
    return (await this.view(principal)) as PushCertificateView;
  }

  async view(principal: Principal): Promise<PushCertificateView | null> {
    this.access.requireAccess(principal, 'rollout.read', null);
    const [row] = (await this.db.query(
      `SELECT topic, not_after, uploaded_by, uploaded_at FROM apple_push_certificate WHERE active`,
    )) as {
      topic: string;
      not_after: Date;
      uploaded_by: string;
      uploaded_at: Date;
    }[];
    if (!row) return null;
    const daysLeft = Math.floor((row.not_after.getTime() - Date.now()) / 86_400_000);
    return {
      topic: row.topic,
      notAfter: row.not_after,
      daysLeft,
      warning:
        daysLeft <= EXPIRY_WARNING_DAYS
          ? `The MDM push certificate expires in ${daysLeft} day(s): renew it at Apple (same Apple ID) and upload it, or iPhones stop receiving policies.`
          : null,
      uploadedBy: row.uploaded_by,
      uploadedAt: row.uploaded_at,
    };
  }

  /**
   * Read on every APNs push: kept for a minute rather than read per push (the APNs benchmark showed
   * that read halving throughput). An upload in this process refreshes it at once; other processes
   * within the minute.
   */
  async active(): Promise<ActivePushCertificate | null> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.value;
    const [row] = (await this.db.query(`SELECT topic, cert_pem, key_pem FROM apple_push_certificate WHERE active`)) as {
      topic: string;
      cert_pem: string;
      key_pem: string;
    }[];
    const value = row ? { topic: row.topic, certPem: row.cert_pem, keyPem: row.key_pem } : null;
    this.cached = { value, until: Date.now() + CACHE_MS };
    return value;
  }
}
