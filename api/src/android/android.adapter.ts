import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DeviceTarget, GroupTarget, PlatformAdapter, PushError } from '../rollout/platform-adapter';
import { PlatformRegistry } from '../rollout/platform-registry';
import { AmapiClientService } from './amapi-client.service';
import { compileAmapiPolicy, webAppsOf } from './amapi-policy.compiler';
import { AndroidEnterprise } from './android-enterprise.entity';

let webAppIcon: string | undefined;

/**
 * The icon of the web apps we create (Visio, in the DSFR blue): AMAPI requires one (WebApp.icons
 * "Must have at least one element"), as base64url PNG bytes (WebAppIcon.imageData).
 */
export function webAppIconData(): string {
  webAppIcon ??= readFileSync(resolve(__dirname, '../../assets/visio-icon.png')).toString('base64url');
  return webAppIcon;
}

/**
 * Android Enterprise through the Android Management API. A group is one AMAPI policy named after
 * it (`enterprises/E/policies/<group>`): a baseline change is one `policies.patch` per group and
 * the phones follow; `devices.patch` (policyName) only moves a phone to another group's policy.
 */
@Injectable()
export class AndroidAdapter implements PlatformAdapter, OnModuleInit {
  readonly platform = 'android' as const;
  readonly sharedPolicies = true;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly amapi: AmapiClientService,
    private readonly registry: PlatformRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async enterpriseOf(ministry: string): Promise<string> {
    const binding = await this.db.getRepository(AndroidEnterprise).findOneBy({ ministryCode: ministry });
    if (!binding) throw new PushError(`ministry "${ministry}" is bound to no Android Enterprise yet`, false);
    return binding.enterpriseName;
  }

  async publishGroup(group: GroupTarget): Promise<void> {
    const enterprise = await this.enterpriseOf(group.ministry);
    const wanted = webAppsOf(group.effective);
    const name = `${enterprise}/policies/${group.policyName}`;
    const patch = async () => {
      const webApps = await this.ensureWebApps(enterprise, wanted);
      return this.amapi.call('policies.patch', (api, options) =>
        api.enterprises.policies.patch({ name, requestBody: compileAmapiPolicy(group.effective, webApps) }, options),
      );
    };
    let published: { version?: string | null };
    try {
      try {
        published = await patch();
      } catch (e) {
        // A web app deleted on Google's side (its console) makes the policy refused: created again, once.
        if (!(e instanceof PushError) || e.retryable || !(await this.forgetDeletedWebApps(enterprise, wanted))) throw e;
        published = await patch();
      }
    } catch (e) {
      // Google refused for good: kept, with Google's own words, for the ministry's health page.
      if (e instanceof PushError && !e.retryable)
        await this.db.query(
          `INSERT INTO android_publish_error (enterprise_name, policy_name, message) VALUES ($1, $2, $3)
           ON CONFLICT (enterprise_name, policy_name) DO UPDATE SET message = EXCLUDED.message, failed_at = now()`,
          [enterprise, group.policyName, e.message],
        );
      throw e;
    }
    await this.db.query(`DELETE FROM android_publish_error WHERE enterprise_name = $1 AND policy_name = $2`, [
      enterprise,
      group.policyName,
    ]);
    // A device reporting this version has applied this content.
    await this.db.query(
      `INSERT INTO android_policy_publication (enterprise_name, policy_name, version, hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [enterprise, group.policyName, published.version ?? '0', group.hash],
    );
  }

  async pushDevice(device: DeviceTarget): Promise<void> {
    const [row] = (await this.db.query(`SELECT android_device_name FROM device WHERE id = $1`, [device.deviceId])) as {
      android_device_name: string | null;
    }[];
    const name = row?.android_device_name;
    if (!name)
      throw new PushError(
        'this device has no Android Management API name (not enrolled through Android Enterprise)',
        false,
      );
    const enterprise = await this.enterpriseOf(device.ministry);
    const policyName = `${enterprise}/policies/${device.policyName}`;
    await this.amapi.call('devices.patch', (api, options) =>
      api.enterprises.devices.patch({ name, updateMask: 'policyName', requestBody: { policyName } }, options),
    );
  }

  /** How many pushes the shared AMAPI quota lets through in the next `seconds` (the retry loop picks no more). */
  retryBudget(seconds: number): Promise<number> {
    return this.amapi.budget(seconds);
  }

  /**
   * Google's refusal of a group's policy, if its last publish was refused: what a caller that
   * needs the policy on Google's side (an enrollment token names it) should report, instead of
   * the "Policy … not found" Google answers later.
   */
  async refusalOf(ministry: string, policyName: string): Promise<string | null> {
    const [row] = (await this.db.query(
      `SELECT e.message FROM android_publish_error e JOIN android_enterprise a ON a.enterprise_name = e.enterprise_name
        WHERE a.ministry_code = $1 AND e.policy_name = $2`,
      [ministry, policyName],
    )) as { message: string }[];
    return row?.message ?? null;
  }

  /** Forgets the web apps we know that Google no longer has; true when there was one. */
  private async forgetDeletedWebApps(enterprise: string, wanted: { url: string }[]): Promise<boolean> {
    if (wanted.length === 0) return false;
    const known = (await this.db.query(
      `SELECT url, web_app_name FROM android_web_app WHERE enterprise_name = $1 AND url = ANY($2::text[])`,
      [enterprise, wanted.map((w) => w.url)],
    )) as { url: string; web_app_name: string }[];
    let forgotten = false;
    for (const { url, web_app_name: webAppName } of known) {
      const exists = await this.amapi
        .call('webApps.get', (api, options) => api.enterprises.webApps.get({ name: webAppName }, options))
        .then(
          () => true,
          (error: unknown) => {
            // Only Google's "not found" means it is gone; anything else is not ours to guess.
            if (error instanceof PushError && !error.retryable && /\(404\)/.test(error.message)) return false;
            throw error;
          },
        );
      if (exists) continue;
      await this.db.query(`DELETE FROM android_web_app WHERE enterprise_name = $1 AND url = $2`, [enterprise, url]);
      forgotten = true;
    }
    return forgotten;
  }

  /** Web apps (Visio) exist once per enterprise; AMAPI gives each a package name to use in policies. */
  private async ensureWebApps(
    enterprise: string,
    wanted: { url: string; title: string }[],
  ): Promise<Map<string, string>> {
    const known = new Map<string, string>();
    for (const { url, title } of wanted) {
      const [row] = (await this.db.query(
        `SELECT package_name FROM android_web_app WHERE enterprise_name = $1 AND url = $2`,
        [enterprise, url],
      )) as { package_name: string }[];
      if (row) {
        known.set(url, row.package_name);
        continue;
      }
      const created = await this.amapi.call('webApps.create', (api, options) =>
        api.enterprises.webApps.create(
          {
            parent: enterprise,
            requestBody: { title, startUrl: url, displayMode: 'STANDALONE', icons: [{ imageData: webAppIconData() }] },
          },
          options,
        ),
      );
      // AMAPI names a web app enterprises/E/webApps/<package name>.
      const packageName = (created.name ?? '').split('/').pop() ?? '';
      await this.db.query(
        `INSERT INTO android_web_app (enterprise_name, url, web_app_name, package_name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [enterprise, url, created.name, packageName],
      );
      known.set(url, packageName);
    }
    return known;
  }
}
