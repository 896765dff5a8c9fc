import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { androidmanagement_v1 } from 'googleapis';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { InstalledApp } from '../devices/device.entity';
import { AndroidStatusReport, DeviceStateService } from '../devices/device-state.service';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { realErrors } from '../rollout/rollout-engine.service';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { AndroidError } from './android.error';
import { appliesTo, policyErrorsOf as nonComplianceErrors } from './non-compliance';

type AmapiDevice = androidmanagement_v1.Schema$Device;

export interface PubsubPush {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
  subscription?: string;
}

/** A Pub/Sub message, pushed or pulled (googleapis' PubsubMessage). */
export interface PubsubMessage {
  data?: string | null;
  attributes?: Record<string, string> | null;
  messageId?: string | null;
  publishTime?: string | null;
}

/**
 * `applied`: written (or older than what is recorded); `ignored`: a type we do not use; `malformed`:
 * not a Device; `retry`: names a policy version still being recorded, to be delivered again shortly.
 */
export type MessageOutcome = 'applied' | 'ignored' | 'malformed' | 'retry';

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
    private readonly audit: AuditService,
    private readonly devices: DeviceStateService,
  ) {
    this.keys = createRemoteJWKSet(new URL(settings.pubsub.jwksUrl), { cooldownDuration: 30_000 });
  }

  /** The push carries an OIDC token from Google for the subscription's service account. */
  async verifyPush(authorization: string | undefined): Promise<void> {
    const { audience, serviceAccountEmail } = this.settings.pubsub;
    // Open by default would let any Google-signed token, for any audience, rewrite a phone's state.
    if (!audience || !serviceAccountEmail)
      throw new AndroidError(
        'push-unauthenticated',
        'unauthenticated',
        'Pub/Sub push is not configured here (PUBSUB_SERVICE_ACCOUNT and PUBSUB_AUDIENCE): pushes are refused.',
      );
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token)
      throw new AndroidError('push-unauthenticated', 'unauthenticated', 'Pub/Sub push without its OIDC token.');
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: GOOGLE_ISSUERS,
        audience,
        algorithms: ['RS256'],
      });
      if (payload.email !== serviceAccountEmail) throw new Error('unexpected service account');
      if (payload.email_verified === false) throw new Error('unverified email');
    } catch (e) {
      throw new AndroidError(
        'push-unauthenticated',
        'unauthenticated',
        `Pub/Sub push token refused: ${(e as Error).message}.`,
      );
    }
  }

  /**
   * One push is a batch of one message: the same path as a pull. A body that is not a Pub/Sub
   * message, or an ENROLLMENT / STATUS_REPORT whose data is not a Device, is refused (400); any
   * other notification type is acknowledged, since a refusal makes Pub/Sub redeliver it for days.
   */
  async handlePush(push: PubsubPush): Promise<void> {
    if (typeof push?.message !== 'object' || push.message === null)
      throw new AndroidError('bad-push', 'invalid', 'A Pub/Sub push needs its message object.');
    const [outcome] = await this.handleMessages([push.message]);
    if (outcome === 'retry')
      // Pub/Sub redelivers what is not acknowledged: a little later, the publication is recorded.
      throw new AndroidError(
        'not-ready',
        'conflict',
        'The policy version this phone reports is being recorded: retry.',
      );
    if (outcome === 'malformed')
      throw new AndroidError(
        'bad-push',
        'invalid',
        'message.data of an ENROLLMENT or STATUS_REPORT must be a base64-encoded Android Management API Device.',
      );
  }

  /**
   * A batch of Pub/Sub messages (one pull, or one push): enrollments first (each its own
   * transaction, rare), then every status report in one set-based write (DeviceStateService).
   * Returns each message's outcome; every one of them may be acknowledged: `malformed` and
   * `ignored` ones would never be handled better by a redelivery.
   */
  async handleMessages(messages: PubsubMessage[]): Promise<MessageOutcome[]> {
    const outcomes: MessageOutcome[] = [];
    const reports: AndroidStatusReport[] = [];
    const names: (string | undefined)[] = [];
    for (const message of messages) {
      const type = message.attributes?.notificationType;
      // test (subscription set-up), ENTERPRISE_UPGRADE, COMMAND, USAGE_LOGS, and types to come.
      names.push(undefined);
      if (type !== 'ENROLLMENT' && type !== 'STATUS_REPORT') {
        outcomes.push('ignored');
        continue;
      }
      const device = decodeDevice(message.data);
      if (!device) {
        this.logger.warn(`Pub/Sub ${type} message ${message.messageId ?? ''} is not a Device; acknowledged, ignored`);
        outcomes.push('malformed');
        continue;
      }
      if (type === 'ENROLLMENT') await this.enroll(device);
      reports.push(statusReportOf(device, message.publishTime));
      names[names.length - 1] = device.name as string;
      outcomes.push('applied');
    }
    const notYet = new Set(await this.apply(reports));
    return outcomes.map((o, i) => (o === 'applied' && notYet.has(names[i] as string) ? 'retry' : o));
  }

  /** A Device read from Google outside Pub/Sub (reconciliation): the same path, one report. */
  async statusReport(device: AmapiDevice): Promise<void> {
    await this.apply([statusReportOf(device, undefined)]);
  }

  /** Writes the reports; returns the phones whose report must be read again shortly (see recordAndroidReports). */
  private async apply(reports: AndroidStatusReport[]): Promise<string[]> {
    if (reports.length === 0) return [];
    const { older, unknown, notYet } = await this.devices.recordAndroidReports(reports);
    if (unknown.length > 0)
      this.logger.warn(
        `status report for ${unknown.length} unknown device(s) (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? '…' : ''}); the reconciliation will look at them`,
      );
    if (older.length > 0)
      this.logger.debug?.(`${older.length} status report(s) older than the one already recorded: ignored`);
    return notYet;
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
  }
}

/** ENROLLMENT and STATUS_REPORT carry a Device; anything else here is not from Google. */
function decodeDevice(data: string | null | undefined): AmapiDevice | undefined {
  if (!data) return undefined;
  try {
    const device = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as unknown;
    if (typeof device !== 'object' || device === null || typeof (device as AmapiDevice).name !== 'string')
      return undefined;
    return device as AmapiDevice;
  } catch {
    return undefined;
  }
}

/**
 * What a Device says, in the terms DeviceStateService writes. Reports are ordered by
 * `lastStatusReportTime` (the message's publish time, then now, when the phone did not say).
 */
function statusReportOf(device: AmapiDevice, publishTime: string | null | undefined): AndroidStatusReport {
  const installed: InstalledApp[] = (device.applicationReports ?? [])
    .filter((a) => a.packageName && a.state !== 'REMOVED')
    .map((a) => ({ id: a.packageName as string, version: a.versionName ?? undefined }));
  const time = [device.lastStatusReportTime, publishTime].find((t) => t && !Number.isNaN(Date.parse(t)));
  const parts = device.appliedPolicyName?.split('/') ?? [];
  // int64 in the API; kept to what PostgreSQL's bigint holds, so that one odd value cannot fail a batch.
  const version = device.appliedPolicyVersion;
  const applied =
    parts.length === 4 &&
    parts[2] === 'policies' &&
    version !== undefined &&
    version !== null &&
    /^\d{1,18}$/.test(version)
      ? { enterprise: `${parts[0]}/${parts[1]}`, policy: parts[3], version }
      : null;
  const ownership = device.ownership === 'PERSONALLY_OWNED' ? 'personal' : 'company';
  // What the rollout sees: a setting out of the policy's reach on this phone is no failed push.
  const detail = (device.nonComplianceDetails ?? [])
    .filter((d) => appliesTo(d, ownership))
    .map((d) => `${d.settingName ?? 'policy'}${d.packageName ? ` ${d.packageName}` : ''}: ${d.nonComplianceReason}`)
    .join('; ');
  return {
    name: device.name as string,
    reportTime: new Date(time ?? Date.now()).toISOString(),
    installed,
    osVersion: device.softwareInfo?.androidVersion ?? null,
    policyErrors: policyErrorsOf(device),
    unenrolled: device.state === 'DELETED',
    applied,
    detail: detail || null,
    failures: realErrors(detail),
  };
}

/** What AMAPI says the phone could not apply, violations only (non-compliance.ts: MANAGEMENT_MODE on a personal phone is not one). */
function policyErrorsOf(device: AmapiDevice): string[] {
  return nonComplianceErrors(
    device.nonComplianceDetails,
    device.ownership === 'PERSONALLY_OWNED' ? 'personal' : 'company',
  );
}
