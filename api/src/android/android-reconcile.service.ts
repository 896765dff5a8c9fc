import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
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
  unknown: number;
}

const RECONCILER: Actor = { id: null, label: 'system: Android reconciliation' };

/**
 * Compares Google's view (devices.list, 100 per page) with ours and repairs drift: a phone on
 * the wrong policy is patched back, a phone deleted on Google's side is marked unenrolled.
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
    const summary: ReconcileSummary = { ministry, checked: 0, repaired: 0, removed: 0, unknown: 0 };
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
          summary.unknown++;
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
    if (summary.repaired + summary.removed + summary.unknown > 0)
      this.logger.log(`${ministry}: ${JSON.stringify(summary)}`);
    return summary;
  }
}
