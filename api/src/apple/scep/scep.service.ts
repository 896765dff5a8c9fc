import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { AppleCaService } from '../apple-ca.service';
import { scepChallengeHash } from '../apple-enrollment.service';
import { AppleError } from '../apple.error';
import { CmsSigner, CmsWriteError, OpenedEnvelope, openEnvelopeCms } from '../cms/cms-write';
import {
  CertificateRequest,
  failureReply,
  MalformedScepMessage,
  MESSAGE_TYPE,
  readCertificateRequest,
  readRequest,
  sameKey,
  ScepFailure,
  successReply,
  VerifiedRequest,
} from './scep-message';

/**
 * What the service can do (RFC 8894 3.5.2). No GetNextCACert (the CA does not roll over), no
 * Renewal (identities are renewed by a new enrollment profile).
 */
export const SCEP_CAPABILITIES = ['AES', 'DES3', 'POSTPKIOperation', 'SCEPStandard', 'SHA-1', 'SHA-256', 'SHA-512'];

const SCEP_ACTOR = { id: null, label: 'system: SCEP' };

interface ChallengeRow {
  enrollment_id: string;
  ministry_code: string;
  expires_at: Date;
  revoked_at: Date | null;
  used_at: Date | null;
  transaction_id: string | null;
  certificate: Buffer | null;
  link_revoked_at: Date | null;
  /** A renewal's challenge (AppleIdentityRenewalService): the identity it renews, its InstallProfile. */
  renews: string | null;
  renewal_command: string | null;
}

/**
 * The SCEP server (RFC 8894) of the service's device CA: a phone whose enrollment profile carries a
 * `com.apple.security.scep` payload generates its key, asks for the CA certificate, and sends its
 * PKCS#10 request (with the profile's one-time challenge) encrypted to the CA and signed by its own
 * key; it gets back its certificate, which it then uses as its MDM identity exactly like one
 * delivered in a PKCS#12 (an `apple_identity` row of the enrollment, bound at the first check-in).
 * A renewal's challenge gives a renewal identity instead (`renews`, `renewal_command`, its exact
 * `not_after`): it speaks only for the phone of the identity it renews, and takes over from it as a
 * renewal delivered in a PKCS#12 does (MdmProtocolService, AppleIdentityRenewalService).
 */
@Injectable()
export class ScepService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly ca: AppleCaService,
    private readonly audit: AuditService,
  ) {}

  capabilities(): string {
    return `${SCEP_CAPABILITIES.join('\n')}\n`;
  }

  /** GetCACert: the CA certificate (DER), which encrypts the requests and signs the answers. */
  async caCertificate(): Promise<Buffer> {
    return (await this.ca.authority()).certificate;
  }

  /**
   * PKIOperation: a CertRep for any SCEP message (SUCCESS with the certificate, or FAILURE with
   * its failInfo and reason); 400 for what is not one. Only a successful PKCSReq writes anything.
   */
  async pkiOperation(message: Buffer): Promise<Buffer> {
    if (message.length === 0) throw new AppleError('scep-malformed', 'invalid', 'The PKIOperation message is empty.');
    const authority = await this.ca.authority();
    const signer: CmsSigner = { certificates: [authority.certificate], key: authority.key };
    let request: VerifiedRequest;
    try {
      request = readRequest(message);
    } catch (error) {
      if (error instanceof MalformedScepMessage) throw new AppleError('scep-malformed', 'invalid', error.message);
      if (error instanceof ScepFailure && error.envelope) return failureReply(error.envelope, signer, error);
      throw error;
    }
    try {
      return await this.answer(request, signer, authority.key, authority.certificate);
    } catch (error) {
      if (error instanceof ScepFailure) return failureReply(request, signer, error);
      // Inside the encrypted request (e.g. a challengePassword that is not a string): answerable.
      if (error instanceof MalformedScepMessage)
        return failureReply(request, signer, new ScepFailure('badRequest', error.message));
      throw error;
    }
  }

  private async answer(
    request: VerifiedRequest,
    signer: CmsSigner,
    caKey: KeyObject,
    caCertificate: Buffer,
  ): Promise<Buffer> {
    if (request.messageType !== MESSAGE_TYPE.PKCSReq)
      throw new ScepFailure(
        'badRequest',
        request.messageType === MESSAGE_TYPE.RenewalReq
          ? 'Renewal is not offered here: the MDM server renews identities with a new enrollment profile.'
          : `Message type ${request.messageType.slice(0, 8)} is not answered here: only PKCSReq (19).`,
      );
    let opened: OpenedEnvelope;
    try {
      opened = openEnvelopeCms(request.envelope, caKey, caCertificate);
    } catch (error) {
      if (error instanceof CmsWriteError) throw new ScepFailure('badMessageCheck', `${error.message}.`);
      throw error;
    }
    const csr = readCertificateRequest(opened.content);
    const requester = new X509Certificate(request.signerCertificate);
    // Proof of possession both ways: the message is signed by the key the request certifies.
    if (!sameKey(requester.publicKey, csr.publicKey))
      throw new ScepFailure(
        'badMessageCheck',
        'The message is signed by another key than the one the certificate request is for.',
      );
    if (!csr.challengePassword)
      throw new ScepFailure('badRequest', 'The certificate request has no challengePassword.');
    const challengeHash = scepChallengeHash(csr.challengePassword);
    const issued = await this.db.transaction(async (tx) => {
      const [row] = (await tx.query(
        `SELECT c.enrollment_id, e.ministry_code, c.expires_at, c.revoked_at, c.used_at, c.transaction_id,
                c.certificate, e.revoked_at AS link_revoked_at, c.renews, c.renewal_command
           FROM apple_scep_challenge c JOIN apple_enrollment e ON e.id = c.enrollment_id
          WHERE c.challenge_hash = $1 FOR UPDATE OF c`,
        [challengeHash],
      )) as ChallengeRow[];
      if (!row) throw new ScepFailure('badRequest', 'The challenge is unknown: download the enrollment profile again.');
      if (row.used_at) {
        // The same request again (the phone missed the answer): the same certificate, nothing written.
        if (
          row.transaction_id === request.transactionId &&
          row.certificate &&
          sameKey(new X509Certificate(row.certificate).publicKey, csr.publicKey)
        )
          return row.certificate;
        throw new ScepFailure('badRequest', 'The challenge was already used: download the enrollment profile again.');
      }
      if (row.renews) return this.issueRenewal(tx, row, challengeHash, request.transactionId, csr);
      if (row.revoked_at || row.link_revoked_at)
        throw new ScepFailure(
          'badRequest',
          'The challenge was withdrawn (the link was revoked or downloaded again): download the enrollment profile again.',
        );
      if (row.expires_at < new Date())
        throw new ScepFailure('badRequest', 'The challenge has expired: download the enrollment profile again.');
      const certificate = await this.ca.issueCertificate(csr.publicKey, `appareil ${randomUUID()}`, 'device');
      await tx.query(`INSERT INTO apple_identity (serial, enrollment_id) VALUES ($1, $2)`, [
        certificate.serial,
        row.enrollment_id,
      ]);
      await tx.query(
        `UPDATE apple_scep_challenge SET used_at = now(), transaction_id = $2, serial = $3, certificate = $4 WHERE challenge_hash = $1`,
        [challengeHash, request.transactionId, certificate.serial, certificate.certDer],
      );
      await this.audit.record(tx, SCEP_ACTOR, {
        action: 'apple.scep-identity-issued',
        entityType: 'apple-enrollment-link',
        entityId: row.enrollment_id,
        ministry: row.ministry_code,
        after: { serial: certificate.serial, transactionId: request.transactionId, requested: csr.commonName },
      });
      return certificate.certDer;
    });
    // Answered with the request's cipher, except single DES: triple DES, which every such client reads.
    return successReply(request, signer, issued, opened.cipher === 'des-cbc' ? 'des-ede3-cbc' : opened.cipher);
  }

  /**
   * A renewal's challenge traded: the renewal identity, pending until the phone proves it installed
   * its profile. The link's later revocation does not matter (the phone is enrolled; a renewal sent
   * as a PKCS#12 does not look at it either); the identity it renews must still be in use.
   */
  private async issueRenewal(
    tx: EntityManager,
    row: ChallengeRow,
    challengeHash: Buffer,
    transactionId: string,
    csr: CertificateRequest,
  ): Promise<Buffer> {
    if (row.revoked_at)
      throw new ScepFailure(
        'badRequest',
        'This renewal was withdrawn (the phone reported its installation as failed, or it was cancelled): the phone keeps its current identity.',
      );
    if (row.expires_at < new Date())
      throw new ScepFailure(
        'badRequest',
        'The renewal challenge has expired with the identity it renews: enroll again.',
      );
    const [old] = (await tx.query(
      `SELECT o.udid, o.revoked_at, d.id AS device_id, d.ministry_code,
              EXISTS (SELECT 1 FROM apple_identity r WHERE r.renews = o.serial AND r.udid IS NULL AND r.revoked_at IS NULL) AS pending
         FROM apple_identity o LEFT JOIN device d ON d.apple_identity_serial = o.serial
        WHERE o.serial = $1 FOR UPDATE OF o`,
      [row.renews],
    )) as {
      udid: string | null;
      revoked_at: Date | null;
      device_id: string | null;
      ministry_code: string | null;
      pending: boolean;
    }[];
    if (!old?.udid || old.revoked_at)
      throw new ScepFailure(
        'badRequest',
        'The device identity this renewal replaces is no longer in use (the phone left, or enrolled again): enroll with a new link.',
      );
    // One pending renewal per identity (AppleIdentityRenewalService), whichever way it was delivered.
    if (old.pending)
      throw new ScepFailure(
        'badRequest',
        'Another renewal of this device identity is pending: this one is not issued.',
      );
    const certificate = await this.ca.issueCertificate(csr.publicKey, `appareil ${randomUUID()}`, 'device');
    const notAfter = new Date(new X509Certificate(certificate.certDer).validTo);
    await tx.query(
      `INSERT INTO apple_identity (serial, enrollment_id, not_after, renews, renewal_command) VALUES ($1, $2, $3, $4, $5)`,
      [certificate.serial, row.enrollment_id, notAfter, row.renews, row.renewal_command],
    );
    await tx.query(
      `UPDATE apple_scep_challenge SET used_at = now(), transaction_id = $2, serial = $3, certificate = $4 WHERE challenge_hash = $1`,
      [challengeHash, transactionId, certificate.serial, certificate.certDer],
    );
    await this.audit.record(tx, SCEP_ACTOR, {
      action: 'apple.scep-identity-issued',
      ...(old.device_id
        ? { entityType: 'device', entityId: old.device_id, ministry: old.ministry_code ?? row.ministry_code }
        : { entityType: 'apple-enrollment-link', entityId: row.enrollment_id, ministry: row.ministry_code }),
      before: { identity: row.renews },
      after: {
        serial: certificate.serial,
        renews: row.renews,
        command: row.renewal_command,
        expiresAt: notAfter.toISOString(),
        transactionId,
        requested: csr.commonName,
      },
    });
    return certificate.certDer;
  }
}
