import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { androidmanagement_v1 } from 'googleapis';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { InstalledApp } from '../devices/device.entity';
import { DeviceStateService } from '../devices/device-state.service';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { RolloutEngine } from '../rollout/rollout-engine.service';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { AndroidError } from './android.error';

type AmapiDevice = androidmanagement_v1.Schema$Device;

export interface PubsubPush {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
  subscription?: string;
}

const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const ENROLLMENT: Actor = { id: null, label: 'system: Android enrollment' };

/**
 * What phones report through Google Pub/Sub: ENROLLMENT attaches a new phone to its ministry and
 * agent; STATUS_REPORT records the applied policy (→ converged or not), the non-compliance details
 * and the installed apps (→ a banned app still installed makes the phone non-compliant).
 */
@Injectable()
export class AndroidReportsService {
  private readonly logger = new Logger('AndroidReports');
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ANDROID_SETTINGS) private readonly settings: AndroidSettings,
    private readonly groups: PolicyGroupService,
    private readonly engine: RolloutEngine,
    private readonly audit: AuditService,
    private readonly devices: DeviceStateService,
  ) {
    this.keys = createRemoteJWKSet(new URL(settings.pubsub.jwksUrl), { cooldownDuration: 30_000 });
  }

  /** The push carries an OIDC token from Google for the subscription's service account. */
  async verifyPush(authorization: string | undefined): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token)
      throw new AndroidError('push-unauthenticated', 'unauthenticated', 'Pub/Sub push without its OIDC token.');
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: GOOGLE_ISSUERS,
        audience: this.settings.pubsub.audience,
        algorithms: ['RS256'],
      });
      if (this.settings.pubsub.serviceAccountEmail && payload.email !== this.settings.pubsub.serviceAccountEmail)
        throw new Error('unexpected service account');
      if (payload.email_verified === false) throw new Error('unverified email');
    } catch (e) {
      throw new AndroidError(
        'push-unauthenticated',
        'unauthenticated',
        `Pub/Sub push token refused: ${(e as Error).message}.`,
      );
    }
  }

  async handlePush(push: PubsubPush): Promise<void> {
    const type = push.message?.attributes?.notificationType;
    const data = push.message?.data;
    if (!type || !data)
      throw new AndroidError(
        'bad-push',
        'invalid',
        'A Pub/Sub push needs message.data and message.attributes.notificationType.',
      );
    if (type === 'test') return; // Google's test notification at subscription set-up
    let device: AmapiDevice;
    try {
      device = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as AmapiDevice;
    } catch {
      throw new AndroidError('bad-push', 'invalid', 'message.data is not base64-encoded JSON.');
    }
    if (typeof device !== 'object' || device === null || typeof device.name !== 'string') {
      throw new AndroidError('bad-push', 'invalid', 'message.data is not an Android Management API Device.');
    }
    if (type === 'ENROLLMENT') await this.enroll(device);
    else if (type === 'STATUS_REPORT') await this.statusReport(device);
    // Other types (COMMAND, USAGE_LOGS…) are acknowledged and ignored.
  }

  private async enroll(device: AmapiDevice): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [existing] = (await tx.query(`SELECT id FROM device WHERE android_device_name = $1`, [device.name])) as {
        id: string;
      }[];
      if (existing) return;
      const [token] = (await tx.query(`SELECT ministry_code, agent_id FROM android_enrollment_token WHERE name = $1`, [
        device.enrollmentTokenName ?? '',
      ])) as {
        ministry_code: string;
        agent_id: string | null;
      }[];
      if (!token) {
        this.logger.warn(`enrollment of ${device.name} with an unknown token (${device.enrollmentTokenName}); ignored`);
        return;
      }
      const model = [device.hardwareInfo?.brand, device.hardwareInfo?.model].filter(Boolean).join(' ') || 'Android';
      const id = await this.devices.enroll(tx, {
        platform: 'android',
        ownership: device.ownership === 'PERSONALLY_OWNED' ? 'personal' : 'company',
        agentId: token.agent_id,
        ministry: token.ministry_code,
        displayName: model,
        model: device.hardwareInfo?.model ?? null,
        androidDeviceName: device.name,
        osVersion: device.softwareInfo?.androidVersion ?? null,
      });
      await this.audit.record(tx, ENROLLMENT, {
        action: 'device.enrolled',
        entityType: 'device',
        entityId: id,
        ministry: token.ministry_code,
        after: {
          platform: 'android',
          name: device.name,
          ownership: device.ownership,
          agentId: token.agent_id,
          token: device.enrollmentTokenName,
        },
      });
      // The phone enrolled with its ministry's policy; its own group (exemptions) follows by push.
      await this.groups.regroup(tx, { deviceIds: [id] }, 'enrolled');
      const policy = device.policyName?.split('/').pop();
      if (policy) await this.devices.bindPolicy(tx, id, policy);
    });
    await this.statusReport(device);
  }

  async statusReport(device: AmapiDevice): Promise<void> {
    const [row] = (await this.db.query(`SELECT id, group_id FROM device WHERE android_device_name = $1`, [
      device.name,
    ])) as { id: string; group_id: string | null }[];
    if (!row) {
      this.logger.warn(`status report for unknown device ${device.name}; the reconciliation will look at it`);
      return;
    }
    const installed: InstalledApp[] = (device.applicationReports ?? [])
      .filter((a) => a.packageName && a.state !== 'REMOVED')
      .map((a) => ({ id: a.packageName as string, version: a.versionName ?? undefined }));
    // The facts; compliance is the shared evaluator's (DeviceStateService), as for every platform.
    await this.devices.recordReport(
      row.id,
      {
        installed,
        osVersion: device.softwareInfo?.androidVersion ?? null,
        // The policy governs what it manages (the whole phone, or its work profile): apps can be blocked there.
        supervised: true,
        policyErrors: policyErrorsOf(device),
      },
      { unenrolled: device.state === 'DELETED' },
    );
    // After the commit: the engine updates the same row on its own connection.
    await this.recordApplied(this.db.manager, row.id, device);
  }

  private async recordApplied(tx: EntityManager, deviceId: string, device: AmapiDevice): Promise<void> {
    if (!device.appliedPolicyName || device.appliedPolicyVersion === undefined || device.appliedPolicyVersion === null)
      return;
    const parts = device.appliedPolicyName.split('/');
    if (parts.length !== 4 || parts[2] !== 'policies') return;
    const [enterprise, policy] = [`${parts[0]}/${parts[1]}`, parts[3]];
    const [published] = (await tx.query(
      `SELECT hash FROM android_policy_publication WHERE enterprise_name = $1 AND policy_name = $2 AND version = $3`,
      [enterprise, policy, device.appliedPolicyVersion],
    )) as { hash: string }[];
    const detail = (device.nonComplianceDetails ?? [])
      .map((d) => `${d.settingName ?? 'policy'}${d.packageName ? ` ${d.packageName}` : ''}: ${d.nonComplianceReason}`)
      .join('; ');
    if (published) await this.engine.reportApplied(deviceId, published.hash, detail || undefined);
  }
}

/**
 * What AMAPI says the phone could not apply. PENDING is not a failure; an app installed that should
 * not be (APP_INSTALLED) or missing (APP_NOT_INSTALLED) is already judged from the inventory, in the
 * same words as on an iPhone.
 */
function policyErrorsOf(device: AmapiDevice): string[] {
  const errors = (device.nonComplianceDetails ?? [])
    .filter((d) => !['PENDING', 'APP_INSTALLED', 'APP_NOT_INSTALLED'].includes(d.nonComplianceReason ?? ''))
    .map((d) => `${d.settingName ?? 'policy'}${d.packageName ? ` (${d.packageName})` : ''}: ${d.nonComplianceReason}`);
  return [...new Set(errors)];
}
