import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { androidmanagement_v1 } from 'googleapis';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { DeviceStateService } from '../devices/device-state.service';
import { fleetSql } from '../devices/fleet-sql';
import { AmapiClientService } from './amapi-client.service';
import { AndroidReportsService } from './android-reports.service';

export interface ReconcileSummary {
  ministry: string;
  checked: number;
  repaired: number;
  removed: number;
  adopted: number;
  unknown: number;
}

/** A phone Google lists that no token of ours enrolled: listed for IT, never managed blindly. */
export interface UnknownAndroidDevice {
  name: string;
  enrollmentTokenName: string | null;
  model: string | null;
  serialNumber: string | null;
  ownership: string | null;
  enrolledAt: Date | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

type AmapiDevice = androidmanagement_v1.Schema$Device;

const RECONCILER: Actor = { id: null, label: 'system: Android reconciliation' };

/**
 * Compares Google's view (devices.list, 100 per page) with ours and repairs drift: a phone on
 * the wrong policy is patched back, a phone deleted on Google's side is marked unenrolled, a
 * phone enrolled with one of our tokens whose ENROLLMENT never arrived (no topic on the
 * enterprise then, a lost notification) is adopted as that notification would have, and the
 * others are listed for IT (android_unknown_device).
 */
@Injectable()
export class AndroidReconcileService {
  private readonly logger = new Logger('AndroidReconcile');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly amapi: AmapiClientService,
    private readonly reports: AndroidReportsService,
    private readonly audit: AuditService,
    private readonly devices: DeviceStateService,
  ) {}

  async reconcileAll(): Promise<ReconcileSummary[]> {
    const bindings = (await this.db.query(`SELECT ministry_code FROM android_enterprise ORDER BY ministry_code`)) as {
      ministry_code: string;
    }[];
    const out: ReconcileSummary[] = [];
    for (const b of bindings) out.push(await this.reconcile(b.ministry_code));
    return out;
  }

  async reconcile(ministry: string): Promise<ReconcileSummary> {
    const [binding] = (await this.db.query(`SELECT enterprise_name FROM android_enterprise WHERE ministry_code = $1`, [
      ministry,
    ])) as { enterprise_name: string }[];
    const summary: ReconcileSummary = { ministry, checked: 0, repaired: 0, removed: 0, adopted: 0, unknown: 0 };
    if (!binding) return summary;
    const enterprise = binding.enterprise_name;
    const seen = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.amapi.call('devices.list', (api, o) =>
        api.enterprises.devices.list({ parent: enterprise, pageSize: 100, pageToken }, o),
      );
      for (const device of page.devices ?? []) {
        if (!device.name) continue;
        seen.add(device.name);
        summary.checked++;
        const [local] = (await this.db.query(
          `SELECT id, bound_policy, group_id FROM device WHERE android_device_name = $1`,
          [device.name],
        )) as {
          id: string;
          bound_policy: string | null;
          group_id: string | null;
        }[];
        if (!local) {
          if (device.state !== 'DELETED' && (await this.adopt(ministry, device))) summary.adopted++;
          else {
            await this.listUnknown(ministry, device);
            summary.unknown++;
          }
          continue;
        }
        const expected = local.bound_policy ?? local.group_id;
        const actual = device.policyName?.split('/').pop();
        if (expected && actual !== expected) {
          await this.amapi.call('devices.patch', (api, o) =>
            api.enterprises.devices.patch(
              {
                name: device.name as string,
                updateMask: 'policyName',
                requestBody: { policyName: `${enterprise}/policies/${expected}` },
              },
              o,
            ),
          );
          await this.db.transaction((tx) =>
            this.audit.record(tx, RECONCILER, {
              action: 'device.policy-repaired',
              entityType: 'device',
              entityId: local.id,
              ministry,
              before: { policy: actual ?? null },
              after: { policy: expected },
            }),
          );
          summary.repaired++;
        }
        await this.reports.statusReport(device);
      }
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);

    // Listed phones Google no longer has (or that were adopted since) leave IT's list.
    await this.db.query(
      `DELETE FROM android_unknown_device u WHERE u.ministry_code = $1
         AND (NOT (u.device_name = ANY($2::text[])) OR EXISTS (SELECT 1 FROM device d WHERE d.android_device_name = u.device_name))`,
      [ministry, [...seen]],
    );

    const ours = (await this.db.query(
      `SELECT id, android_device_name FROM device WHERE ministry_code = $1 AND platform = 'android' AND android_device_name LIKE $2 AND ${fleetSql.reachable('device')}`,
      [ministry, `${enterprise}/devices/%`],
    )) as { id: string; android_device_name: string }[];
    for (const device of ours.filter((d) => !seen.has(d.android_device_name))) {
      await this.db.transaction(async (tx) => {
        await this.devices.unenroll(tx, device.id);
        await this.audit.record(tx, RECONCILER, {
          action: 'device.removed-on-google',
          entityType: 'device',
          entityId: device.id,
          ministry,
          after: { name: device.android_device_name },
        });
      });
      summary.removed++;
    }
    if (summary.repaired + summary.removed + summary.adopted + summary.unknown > 0)
      this.logger.log(`${ministry}: ${JSON.stringify(summary)}`);
    return summary;
  }

  /** The ministry's phones Google lists that no token of ours enrolled, as of the last reconciliation. */
  async unknownDevices(ministry: string): Promise<UnknownAndroidDevice[]> {
    return (await this.db.query(
      `SELECT device_name AS "name", enrollment_token_name AS "enrollmentTokenName", model, serial_number AS "serialNumber",
              ownership, enrolled_at AS "enrolledAt", first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt"
         FROM android_unknown_device WHERE ministry_code = $1 ORDER BY first_seen_at, device_name`,
      [ministry],
    )) as UnknownAndroidDevice[];
  }

  /**
   * A phone enrolled with one of this ministry's tokens: handled as the ENROLLMENT notification
   * Google did not send (attached to the token's ministry and agent, audited, its status applied).
   */
  private async adopt(ministry: string, device: AmapiDevice): Promise<boolean> {
    if (!device.enrollmentTokenName) return false;
    const [token] = (await this.db.query(
      `SELECT name FROM android_enrollment_token WHERE name = $1 AND ministry_code = $2`,
      [device.enrollmentTokenName, ministry],
    )) as { name: string }[];
    if (!token) return false;
    await this.reports.handlePush({
      message: {
        data: Buffer.from(JSON.stringify(device)).toString('base64'),
        attributes: { notificationType: 'ENROLLMENT' },
      },
    });
    const [adopted] = (await this.db.query(`SELECT id FROM device WHERE android_device_name = $1`, [device.name])) as {
      id: string;
    }[];
    if (!adopted) return false;
    await this.db.transaction((tx) =>
      this.audit.record(tx, RECONCILER, {
        action: 'device.adopted',
        entityType: 'device',
        entityId: adopted.id,
        ministry,
        after: {
          name: device.name,
          token: device.enrollmentTokenName,
          reason: 'enrolled with our token, never notified',
        },
      }),
    );
    this.logger.log(`${ministry}: adopted ${device.name}, enrolled with ${device.enrollmentTokenName}`);
    return true;
  }

  private async listUnknown(ministry: string, device: AmapiDevice): Promise<void> {
    await this.db.query(
      `INSERT INTO android_unknown_device (device_name, ministry_code, enrollment_token_name, model, serial_number, ownership, enrolled_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (device_name) DO UPDATE SET last_seen_at = now(), enrollment_token_name = EXCLUDED.enrollment_token_name,
         model = EXCLUDED.model, serial_number = EXCLUDED.serial_number, ownership = EXCLUDED.ownership`,
      [
        device.name,
        ministry,
        device.enrollmentTokenName ?? null,
        device.hardwareInfo?.model ?? null,
        device.hardwareInfo?.serialNumber ?? null,
        device.ownership ?? null,
        device.enrollmentTime ?? null,
      ],
    );
  }
}
