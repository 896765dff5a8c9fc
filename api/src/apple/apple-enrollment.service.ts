import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { Agent } from '../directory/agent.entity';
import { AppleCaService } from './apple-ca.service';
import { enrollmentProfileXml, Pkcs12Identity, ScepIdentity } from './enrollment-profile';
import { ProfileSignerService } from './cms/profile-signer.service';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';
import { AppleError } from './apple.error';
import { isUuid } from '../common/uuid';
import { PushCertificateService } from './push-certificate.service';

/** An enrollment link as IT sees it after creation (never its URL: that is a secret given once). */
export interface EnrollmentLinkView {
  id: string;
  agent: string | null;
  expiresAt: Date;
  /** Phones it may enroll. */
  devices: number;
  /** Phones it enrolled. */
  enrolled: number;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

interface LinkRow {
  id: string;
  agent_email: string | null;
  expires_at: Date;
  max_devices: number;
  enrolled: number;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

const LINK_VIEW_SQL = `
  SELECT e.id, a.email AS agent_email, e.expires_at, e.max_devices, e.created_by, e.created_at, e.revoked_at,
         (SELECT count(*)::int FROM apple_identity i WHERE i.enrollment_id = e.id AND i.enrolled_at IS NOT NULL) AS enrolled
    FROM apple_enrollment e LEFT JOIN agent a ON a.id = e.agent_id`;

function linkView(r: LinkRow): EnrollmentLinkView {
  return {
    id: r.id,
    agent: r.agent_email,
    expiresAt: r.expires_at,
    devices: r.max_devices,
    enrolled: r.enrolled,
    createdBy: r.created_by,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/**
 * How long a SCEP challenge can be traded for a certificate: the phone does it while installing the
 * profile it just downloaded (an ADE phone, at once; a link, within the minutes iOS keeps a
 * downloaded profile waiting). A later try downloads the link again.
 */
const SCEP_CHALLENGE_SECONDS = 3600;

/** What is stored of a SCEP challenge: its SHA-256 (the challenge itself is only in the profile). */
export function scepChallengeHash(challenge: string): Buffer {
  return createHash('sha256').update(challenge, 'utf8').digest();
}

/** Enrollment links per ministry (optionally per agent) and the .mobileconfig behind them. */
@Injectable()
export class AppleEnrollmentService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly ca: AppleCaService,
    private readonly pushCertificate: PushCertificateService,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly signer: ProfileSignerService,
  ) {}

  async createLink(
    principal: Principal,
    ministry: string,
    opts: { agentId?: string; expiresInHours: number; devices?: number },
  ): Promise<{ id: string; url: string; expiresAt: Date; agent: string | null; devices: number }> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    if (!(await this.pushCertificate.active()))
      throw new AppleError(
        'no-push-certificate',
        'conflict',
        'Upload the MDM push certificate first: without it enrolled iPhones cannot be reached.',
      );
    let agent: Agent | null = null;
    if (opts.agentId) {
      agent = await this.db.getRepository(Agent).findOneBy({ id: opts.agentId });
      if (!agent || agent.ministryCode !== ministry)
        throw new AppleError('unknown-agent', 'not-found', `No agent "${opts.agentId}" in ministry "${ministry}".`);
    }
    const devices = opts.devices ?? 1;
    // A link for one agent enrolls one phone: theirs.
    if (agent && devices !== 1)
      throw new AppleError(
        'invalid-link',
        'invalid',
        'A link for one agent enrolls one phone: ask for one link per phone, or a ministry-wide link for several.',
      );
    const token = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + opts.expiresInHours * 3_600_000);
    const id = await this.db.transaction(async (tx) => {
      const [row] = (await tx.query(
        `INSERT INTO apple_enrollment (token, ministry_code, agent_id, expires_at, created_by, max_devices) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [token, ministry, agent?.id ?? null, expiresAt, actorOf(principal).label, devices],
      )) as { id: string }[];
      await this.audit.record(tx, actorOf(principal), {
        action: 'apple.enrollment-link-created',
        entityType: 'apple-enrollment-link',
        entityId: row.id,
        ministry,
        after: { agent: agent?.email ?? null, expiresAt: expiresAt.toISOString(), devices },
      });
      return row.id;
    });
    return {
      id,
      url: `${this.settings.serverBaseUrl}/apple/enroll/${token}`,
      expiresAt,
      agent: agent?.email ?? null,
      devices,
    };
  }

  /** The ministry's links that can still enroll a phone (their URLs are secrets and are not shown again). */
  async listLinks(principal: Principal, ministry: string): Promise<EnrollmentLinkView[]> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    const rows = (await this.db.query(
      `${LINK_VIEW_SQL} WHERE e.ministry_code = $1 AND e.revoked_at IS NULL AND e.expires_at > now() ORDER BY e.created_at DESC`,
      [ministry],
    )) as LinkRow[];
    return rows.map(linkView).filter((l) => l.enrolled < l.devices);
  }

  /** Revokes a link: it serves no profile any more, and identities downloaded but not yet enrolled are refused. */
  async revokeLink(principal: Principal, ministry: string, id: string): Promise<EnrollmentLinkView> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    if (!isUuid(id)) throw new AppleError('unknown-enrollment', 'not-found', `No enrollment link "${id}".`);
    return this.db.transaction(async (tx) => {
      const [row] = (await tx.query(`${LINK_VIEW_SQL} WHERE e.id = $1 AND e.ministry_code = $2 FOR UPDATE OF e`, [
        id,
        ministry,
      ])) as LinkRow[];
      if (!row)
        throw new AppleError(
          'unknown-enrollment',
          'not-found',
          `No enrollment link "${id}" in ministry "${ministry}".`,
        );
      if (row.revoked_at)
        throw new AppleError('enrollment-revoked', 'conflict', 'This enrollment link is already revoked.', {
          revokedAt: row.revoked_at,
        });
      await tx.query(`UPDATE apple_enrollment SET revoked_at = now(), revoked_by = $2 WHERE id = $1`, [
        id,
        actorOf(principal).label,
      ]);
      const [, waiting] = (await tx.query(
        `UPDATE apple_identity SET revoked_at = now() WHERE enrollment_id = $1 AND enrolled_at IS NULL AND revoked_at IS NULL`,
        [id],
      )) as [unknown, number];
      // SCEP challenges not traded yet die with the link, like the identities waiting.
      await tx.query(
        `UPDATE apple_scep_challenge SET revoked_at = now() WHERE enrollment_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
        [id],
      );
      await this.audit.record(tx, actorOf(principal), {
        action: 'apple.enrollment-link-revoked',
        entityType: 'apple-enrollment-link',
        entityId: id,
        ministry,
        after: { identitiesRevoked: waiting, phonesEnrolled: row.enrolled },
      });
      const [revoked] = (await tx.query(`${LINK_VIEW_SQL} WHERE e.id = $1`, [id])) as LinkRow[];
      return linkView(revoked);
    });
  }

  /**
   * The enrollment profile, signed (DER CMS SignedData, see ProfileSignerService): the device
   * identity — a fresh PKCS#12, or with APPLE_IDENTITY_DELIVERY=scep a one-time SCEP challenge so
   * that the phone makes its own key — and the MDM payload pointing at this server. A link serves phones until it has enrolled as many as it is for (one, unless IT asked
   * for more), never after it expired or was revoked; a new download before a phone enrolled
   * revokes the identity of the previous one (a failed install is simply downloaded again), so the
   * identities waiting never outnumber the phones the link may still enroll.
   */
  async profile(token: string): Promise<Buffer> {
    const active = await this.pushCertificate.active();
    const { identity, push } = await this.db.transaction(async (tx) => {
      const [enrollment] = (await tx.query(
        `SELECT id, ministry_code, expires_at, revoked_at, max_devices,
                (SELECT count(*)::int FROM apple_identity i WHERE i.enrollment_id = e.id AND i.enrolled_at IS NOT NULL) AS enrolled
           FROM apple_enrollment e WHERE token = $1 FOR UPDATE`,
        [token],
      )) as {
        id: string;
        ministry_code: string;
        expires_at: Date;
        revoked_at: Date | null;
        max_devices: number;
        enrolled: number;
      }[];
      if (!enrollment) throw new AppleError('unknown-enrollment', 'not-found', 'This enrollment link does not exist.');
      if (enrollment.revoked_at)
        throw new AppleError(
          'enrollment-revoked',
          'conflict',
          'This enrollment link was revoked: ask your ministry IT for a new one.',
        );
      if (enrollment.expires_at < new Date())
        throw new AppleError(
          'enrollment-expired',
          'conflict',
          'This enrollment link has expired: ask your ministry IT for a new one.',
        );
      if (enrollment.enrolled >= enrollment.max_devices)
        throw new AppleError(
          'enrollment-used',
          'conflict',
          `This enrollment link has already enrolled ${enrollment.max_devices === 1 ? 'its phone' : `its ${enrollment.max_devices} phones`}: ask your ministry IT for a new one.`,
        );
      if (!active)
        throw new AppleError('no-push-certificate', 'conflict', 'The MDM push certificate is missing on the server.');
      // Room for this download: the oldest identities still waiting beyond the phones left to enroll are
      // revoked (not a renewal of an enrolled phone's identity: that one is no download of the link).
      await tx.query(
        `UPDATE apple_identity SET revoked_at = now()
          WHERE serial IN (SELECT serial FROM apple_identity
                            WHERE enrollment_id = $1 AND enrolled_at IS NULL AND revoked_at IS NULL AND renews IS NULL
                            ORDER BY issued_at DESC OFFSET $2)`,
        [enrollment.id, enrollment.max_devices - enrollment.enrolled - 1],
      );
      if (this.settings.identityDelivery === 'scep') {
        // The same room for challenges not traded yet: never more than the phones left to enroll.
        await tx.query(
          `UPDATE apple_scep_challenge SET revoked_at = now()
            WHERE challenge_hash IN (SELECT challenge_hash FROM apple_scep_challenge
                                      WHERE enrollment_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND renews IS NULL
                                      ORDER BY issued_at DESC OFFSET $2)`,
          [enrollment.id, enrollment.max_devices - enrollment.enrolled - 1],
        );
        const challenge = randomBytes(24).toString('base64url');
        await tx.query(
          `INSERT INTO apple_scep_challenge (challenge_hash, enrollment_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 second')`,
          [scepChallengeHash(challenge), enrollment.id, SCEP_CHALLENGE_SECONDS],
        );
        const scep: ScepIdentity = {
          kind: 'scep',
          url: `${this.settings.serverBaseUrl}/apple/scep`,
          challenge,
          commonName: `appareil ${randomUUID()}`,
        };
        return { identity: scep, push: active };
      }
      // A ready identity from the pool when there is one (AppleSettings.identityPool): no key generation here.
      const issued = await this.ca.takeIdentity();
      await tx.query(`INSERT INTO apple_identity (serial, enrollment_id) VALUES ($1, $2)`, [
        issued.serial,
        enrollment.id,
      ]);
      const pkcs12: Pkcs12Identity = { kind: 'pkcs12', p12: issued.p12, password: issued.password };
      return { identity: pkcs12, push: active };
    });
    return this.signer.sign(
      enrollmentProfileXml({ identity, topic: push.topic, serverBaseUrl: this.settings.serverBaseUrl }),
    );
  }
}
