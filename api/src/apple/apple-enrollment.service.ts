import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { Agent } from '../directory/agent.entity';
import { AppleCaService } from './apple-ca.service';
import { toPlistXml } from './apple-payloads';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';
import { AppleError } from './apple.error';
import { PushCertificateService } from './push-certificate.service';

/** Every MDM right (query, install/remove profiles and apps, restrictions…): 8191. */
const ACCESS_RIGHTS = 8191;

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
  ) {}

  async createLink(
    principal: Principal,
    ministry: string,
    opts: { agentId?: string; expiresInHours: number },
  ): Promise<{ url: string; expiresAt: Date; agent: string | null }> {
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
    const token = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + opts.expiresInHours * 3_600_000);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO apple_enrollment (token, ministry_code, agent_id, expires_at, created_by) VALUES ($1, $2, $3, $4, $5)`,
        [token, ministry, agent?.id ?? null, expiresAt, actorOf(principal).label],
      );
      await this.audit.record(tx, actorOf(principal), {
        action: 'apple.enrollment-link-created',
        entityType: 'ministry',
        entityId: ministry,
        ministry,
        after: { agent: agent?.email ?? null, expiresAt: expiresAt.toISOString() },
      });
    });
    return { url: `${this.settings.serverBaseUrl}/apple/enroll/${token}`, expiresAt, agent: agent?.email ?? null };
  }

  /** The enrollment profile: a fresh device identity (PKCS#12) and the MDM payload pointing at this server. */
  async profile(token: string): Promise<string> {
    const [enrollment] = (await this.db.query(
      `SELECT id, ministry_code, expires_at FROM apple_enrollment WHERE token = $1`,
      [token],
    )) as { id: string; ministry_code: string; expires_at: Date }[];
    if (!enrollment) throw new AppleError('unknown-enrollment', 'not-found', 'This enrollment link does not exist.');
    if (enrollment.expires_at < new Date())
      throw new AppleError(
        'enrollment-expired',
        'conflict',
        'This enrollment link has expired: ask your ministry IT for a new one.',
      );
    const push = await this.pushCertificate.active();
    if (!push)
      throw new AppleError('no-push-certificate', 'conflict', 'The MDM push certificate is missing on the server.');
    const identity = await this.ca.issueIdentity(`appareil ${enrollment.ministry_code} ${randomUUID()}`);
    await this.db.query(`INSERT INTO apple_identity (serial, enrollment_id) VALUES ($1, $2)`, [
      identity.serial,
      enrollment.id,
    ]);
    const identityUuid = randomUUID().toUpperCase();
    return toPlistXml({
      PayloadType: 'Configuration',
      PayloadVersion: 1,
      PayloadIdentifier: 'fr.gouv.numerique.mdm-apps.enrollment',
      PayloadUUID: randomUUID().toUpperCase(),
      PayloadDisplayName: 'Téléphone professionnel — inscription',
      PayloadOrganization: 'État',
      PayloadContent: [
        {
          PayloadType: 'com.apple.security.pkcs12',
          PayloadVersion: 1,
          PayloadIdentifier: 'fr.gouv.numerique.mdm-apps.identity',
          PayloadUUID: identityUuid,
          PayloadDisplayName: 'Identité de l’appareil',
          PayloadContent: identity.p12,
          Password: identity.password,
        },
        {
          PayloadType: 'com.apple.mdm',
          PayloadVersion: 1,
          PayloadIdentifier: 'fr.gouv.numerique.mdm-apps.mdm',
          PayloadUUID: randomUUID().toUpperCase(),
          PayloadDisplayName: 'Gestion des applications',
          ServerURL: `${this.settings.serverBaseUrl}/mdm/server`,
          CheckInURL: `${this.settings.serverBaseUrl}/mdm/checkin`,
          Topic: push.topic,
          IdentityCertificateUUID: identityUuid,
          SignMessage: true,
          AccessRights: ACCESS_RIGHTS,
          CheckOutWhenRemoved: true,
          ServerCapabilities: ['com.apple.mdm.per-user-connections'],
        },
      ],
    });
  }
}
