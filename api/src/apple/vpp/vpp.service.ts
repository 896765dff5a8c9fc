import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { AccessService } from '../../auth/access.service';
import { Actor, actorOf, Principal } from '../../auth/principal';
import { PushError } from '../../rollout/platform-adapter';
import { AppleCommandsService } from '../apple-commands.service';
import { PlistDict } from '../apple-payloads';
import { APPLE_SETTINGS, AppleSettings } from '../apple-settings';
import { AppleError } from '../apple.error';
import { EXPIRY_WARNING_DAYS } from '../push-certificate.service';

const DEFAULT_APPS_BOOKS_URL = 'https://vpp.itunes.apple.com';
const TIMEOUT_MS = 30_000;
/** Associations are asynchronous at Apple: their event is polled this many times, this far apart. */
const STATUS_POLLS = 20;
const STATUS_POLL_MS = 250;
const SYSTEM: Actor = { id: null, label: 'system: Apps and Books' };

/**
 * A store app's licences are out: IT must buy more (or release some). Not retryable: pushing the
 * policy again changes nothing until then, so the rollout records it as the device's push error.
 */
export class OutOfLicencesError extends PushError {
  readonly code = 'out-of-licences';
  constructor(message: string) {
    super(message, false);
  }
}

export interface VppAssetView {
  adamId: string;
  bundleId: string | null;
  productType: string;
  pricingParam: string;
  deviceAssignable: boolean;
  totalCount: number;
  assignedCount: number;
  availableCount: number;
}

export interface VppView {
  ministry: string;
  locationName: string | null;
  orgName: string | null;
  expiresAt: Date;
  daysLeft: number;
  warning: string | null;
  assetsSyncedAt: Date | null;
  /** The worker's last scheduled refresh of the licence counts: ok, failed (syncError says why), or null before the first. */
  syncState: 'ok' | 'failed' | null;
  syncError: string | null;
  nextSyncAt: Date | null;
  assets: VppAssetView[];
  /** Licences this server holds for devices of the ministry. */
  licencesAssigned: number;
}

interface AssetRow {
  adam_id: string;
  bundle_id: string | null;
  product_type: string;
  pricing_param: string;
  device_assignable: boolean;
  total_count: number;
  assigned_count: number;
  available_count: number;
}

interface ApiAsset {
  adamId: string;
  pricingParam: string;
  productType: string;
  deviceAssignable: boolean;
  totalCount: number;
  assignedCount: number;
  availableCount: number;
}

class VppHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorNumber: number | null,
    readonly errorMessage: string,
  ) {
    super(`Apps and Books answered ${status}${errorNumber ? ` (error ${errorNumber})` : ''}: ${errorMessage}`);
  }
}

/** The content token: base64 of `{"token": …, "expDate": …, "orgName": …}` as ABM gives it. */
function readContentToken(sToken: string): { expDate: Date; orgName: string | null } {
  const invalid = (why: string) =>
    new AppleError(
      'vpp-token-invalid',
      'invalid',
      `This is not an Apps and Books content token (${why}): in Apple Business Manager, Preferences → Payments and Billing → Content Tokens, download the location's token and upload the file's contents as they are.`,
    );
  const compact = sToken.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw invalid('not base64');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    throw invalid('not base64 JSON');
  }
  const v = value as { token?: unknown; expDate?: unknown; orgName?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.token !== 'string' || typeof v.expDate !== 'string')
    throw invalid('token or expDate missing');
  const expDate = new Date(v.expDate.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(expDate.getTime())) throw invalid('expDate is not a date');
  if (expDate.getTime() < Date.now())
    throw new AppleError(
      'vpp-token-invalid',
      'invalid',
      `This content token expired on ${expDate.toISOString().slice(0, 10)}: download a renewed one from Apple Business Manager.`,
    );
  return { expDate, orgName: typeof v.orgName === 'string' ? v.orgName : null };
}

/**
 * Apps and Books (volume purchase) per ministry: the content token, the apps it owns with their
 * licence counts, and licences associated with device serial numbers before an
 * `InstallApplication` goes out (which then names the app by `iTunesStoreID` with purchase method
 * 1, device-assigned: no Apple ID, no prompt). A licence is released when its device leaves.
 */
@Injectable()
export class VppService implements OnModuleInit {
  private readonly logger = new Logger('AppsAndBooks');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly queue: AppleCommandsService,
  ) {}

  onModuleInit(): void {
    this.queue.licensing = this;
  }

  private get baseUrl(): string {
    return (this.settings.appsBooksUrl ?? DEFAULT_APPS_BOOKS_URL).replace(/\/$/, '');
  }

  private async requireMinistry(principal: Principal, ministry: string): Promise<void> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    const [row] = (await this.db.query(`SELECT 1 FROM ministry WHERE code = $1`, [ministry])) as unknown[];
    if (!row) throw new AppleError('unknown-ministry', 'not-found', `No ministry "${ministry}".`);
  }

  private async call<T>(sToken: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/mdm/v2${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${sToken}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw new AppleError(
        'vpp-unavailable',
        'unavailable',
        `Apps and Books could not be reached (${(e as Error).message}); try again later.`,
      );
    }
    if (response.status === 200) return (await response.json()) as T;
    if (response.status >= 500 || response.status === 429)
      throw new AppleError(
        'vpp-unavailable',
        'unavailable',
        `Apps and Books is unavailable (${response.status}); try again later.`,
      );
    let error: { errorNumber?: unknown; errorMessage?: unknown } = {};
    try {
      error = (await response.json()) as typeof error;
    } catch {
      // no JSON body: the status says enough
    }
    throw new VppHttpError(
      response.status,
      typeof error.errorNumber === 'number' ? error.errorNumber : null,
      typeof error.errorMessage === 'string' ? error.errorMessage : response.statusText,
    );
  }

  private async token(ministry: string): Promise<string> {
    const [row] = (await this.db.query(`SELECT stoken FROM vpp_token WHERE ministry_code = $1`, [ministry])) as {
      stoken: string;
    }[];
    if (!row)
      throw new AppleError(
        'vpp-no-token',
        'conflict',
        'Import the ministry’s Apps and Books content token first (PUT …/apple/vpp/token).',
      );
    return row.stoken;
  }

  /**
   * Imports (or renews) the content token: Apple must accept it; the ministry's apps are read at once.
   * A renewed token ends the scheduled refresh's backoff: the worker tries it at its next turn.
   */
  async importToken(principal: Principal, ministry: string, sToken: string): Promise<VppView> {
    await this.requireMinistry(principal, ministry);
    const { expDate, orgName } = readContentToken(sToken);
    const compact = sToken.trim();
    let config: { locationName?: string; clientContext?: string };
    try {
      config = await this.call(compact, 'GET', '/client/config');
      // The client context tells another MDM server that this token is in use here.
      config = await this.call(compact, 'POST', '/client/config', {
        clientContext: JSON.stringify({ mdm: this.settings.serverBaseUrl, ministry }),
      });
    } catch (e) {
      if (e instanceof VppHttpError)
        throw new AppleError(
          'vpp-token-invalid',
          'invalid',
          `Apple refused this content token (${e.errorMessage}): download a new one from Apple Business Manager.`,
        );
      throw e;
    }
    const actor = actorOf(principal);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO vpp_token (ministry_code, stoken, org_name, location_name, expires_at, imported_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (ministry_code) DO UPDATE SET stoken = $2, org_name = $3, location_name = $4, expires_at = $5,
                imported_by = $6, imported_at = now(), next_sync_at = NULL, sync_failures = 0`,
        [ministry, compact, orgName, config.locationName ?? null, expDate, actor.label],
      );
      await this.audit.record(tx, actor, {
        action: 'apple.vpp-token-imported',
        entityType: 'vpp-token',
        entityId: ministry,
        ministry,
        after: { locationName: config.locationName ?? null, orgName, expiresAt: expDate.toISOString() },
      });
    });
    await this.syncAssetsOf(actor, ministry);
    return this.view(principal, ministry);
  }

  async syncAssets(principal: Principal, ministry: string): Promise<VppView> {
    await this.requireMinistry(principal, ministry);
    await this.syncAssetsOf(actorOf(principal), ministry);
    return this.view(principal, ministry);
  }

  /** Reads every asset (all pages) with its counts; licences of devices that left are released first. */
  async syncAssetsOf(actor: Actor, ministry: string): Promise<number> {
    const sToken = await this.token(ministry);
    await this.releaseLeft(ministry);
    const assets: ApiAsset[] = [];
    for (let pageIndex: number | undefined = 0; pageIndex !== undefined;) {
      let page: { assets?: ApiAsset[]; nextPageIndex?: number };
      try {
        page = await this.call(sToken, 'GET', `/assets?pageIndex=${pageIndex}`);
      } catch (e) {
        throw this.refused(e);
      }
      assets.push(...(page.assets ?? []));
      pageIndex = page.nextPageIndex;
    }
    await this.db.transaction(async (tx) => {
      if (assets.length > 0)
        await tx.query(
          `INSERT INTO vpp_asset (ministry_code, adam_id, pricing_param, product_type, device_assignable, total_count, assigned_count, available_count)
           SELECT $1, a."adamId", a."pricingParam", a."productType", a."deviceAssignable", a."totalCount", a."assignedCount", a."availableCount"
             FROM jsonb_to_recordset($2::jsonb) AS a("adamId" text, "pricingParam" text, "productType" text,
                  "deviceAssignable" boolean, "totalCount" int, "assignedCount" int, "availableCount" int)
           ON CONFLICT (ministry_code, adam_id) DO UPDATE SET pricing_param = EXCLUDED.pricing_param,
                  product_type = EXCLUDED.product_type, device_assignable = EXCLUDED.device_assignable,
                  total_count = EXCLUDED.total_count, assigned_count = EXCLUDED.assigned_count,
                  available_count = EXCLUDED.available_count, synced_at = now()`,
          [ministry, JSON.stringify(assets)],
        );
      await tx.query(`UPDATE vpp_token SET assets_synced_at = now() WHERE ministry_code = $1`, [ministry]);
      await this.audit.record(tx, actor, {
        action: 'apple.vpp-assets-synced',
        entityType: 'vpp-token',
        entityId: ministry,
        ministry,
        after: { assets: assets.map((a) => ({ adamId: a.adamId, total: a.totalCount, available: a.availableCount })) },
      });
    });
    return assets.length;
  }

  /** Which app (bundle identifier) an asset is: Apple's asset list names apps by adamId only. */
  async mapAsset(principal: Principal, ministry: string, adamId: string, bundleId: string): Promise<VppView> {
    await this.requireMinistry(principal, ministry);
    await this.db.transaction(async (tx) => {
      const [asset] = (await tx.query(
        `SELECT bundle_id FROM vpp_asset WHERE ministry_code = $1 AND adam_id = $2 FOR UPDATE`,
        [ministry, adamId],
      )) as { bundle_id: string | null }[];
      if (!asset)
        throw new AppleError(
          'vpp-unknown-asset',
          'not-found',
          `The ministry's Apps and Books token owns no app ${adamId} (sync the assets after buying it in Apple Business Manager).`,
        );
      await tx.query(
        `UPDATE vpp_asset SET bundle_id = NULL WHERE ministry_code = $1 AND bundle_id = $2 AND adam_id <> $3`,
        [ministry, bundleId, adamId],
      );
      await tx.query(`UPDATE vpp_asset SET bundle_id = $3 WHERE ministry_code = $1 AND adam_id = $2`, [
        ministry,
        adamId,
        bundleId,
      ]);
      await this.audit.record(tx, actorOf(principal), {
        action: 'apple.vpp-asset-mapped',
        entityType: 'vpp-asset',
        entityId: adamId,
        ministry,
        before: { bundleId: asset.bundle_id },
        after: { bundleId },
      });
    });
    return this.view(principal, ministry);
  }

  async view(principal: Principal, ministry: string): Promise<VppView> {
    await this.requireMinistry(principal, ministry);
    const [token] = (await this.db.query(
      `SELECT org_name, location_name, expires_at, assets_synced_at, sync_state, sync_error, next_sync_at
         FROM vpp_token WHERE ministry_code = $1`,
      [ministry],
    )) as {
      org_name: string | null;
      location_name: string | null;
      expires_at: Date;
      assets_synced_at: Date | null;
      sync_state: 'ok' | 'failed' | null;
      sync_error: string | null;
      next_sync_at: Date | null;
    }[];
    if (!token) throw new AppleError('vpp-no-token', 'conflict', 'Apps and Books is not connected for this ministry.');
    const assets = (await this.db.query(
      `SELECT adam_id, bundle_id, product_type, pricing_param, device_assignable, total_count, assigned_count, available_count
         FROM vpp_asset WHERE ministry_code = $1 ORDER BY adam_id`,
      [ministry],
    )) as AssetRow[];
    const [{ count }] = (await this.db.query(
      `SELECT count(*)::int AS count FROM vpp_assignment WHERE ministry_code = $1 AND released_at IS NULL`,
      [ministry],
    )) as { count: number }[];
    const daysLeft = Math.floor((token.expires_at.getTime() - Date.now()) / 86_400_000);
    const out = assets.filter((a) => a.bundle_id && a.available_count <= 0).map((a) => a.bundle_id);
    const warnings = [
      ...(daysLeft <= EXPIRY_WARNING_DAYS
        ? [
            `The Apps and Books content token expires in ${daysLeft} day(s): download a renewed one from Apple Business Manager and import it.`,
          ]
        : []),
      ...(out.length > 0 ? [`No licence left for ${out.join(', ')}: buy more in Apple Business Manager.`] : []),
    ];
    return {
      ministry,
      locationName: token.location_name,
      orgName: token.org_name,
      expiresAt: token.expires_at,
      daysLeft,
      warning: warnings.length > 0 ? warnings.join(' ') : null,
      assetsSyncedAt: token.assets_synced_at,
      syncState: token.sync_state,
      syncError: token.sync_error,
      nextSyncAt: token.next_sync_at,
      assets: assets.map((a) => ({
        adamId: a.adam_id,
        bundleId: a.bundle_id,
        productType: a.product_type,
        pricingParam: a.pricing_param,
        deviceAssignable: a.device_assignable,
        totalCount: a.total_count,
        assignedCount: a.assigned_count,
        availableCount: a.available_count,
      })),
      licencesAssigned: count,
    };
  }

  private refused(e: unknown): unknown {
    if (e instanceof VppHttpError)
      return new AppleError('vpp-refused', 'conflict', `Apps and Books refused the request: ${e.errorMessage}.`);
    return e;
  }

  /** Waits for an association event to end; its failures (per serial), if any. */
  private async outcome(
    sToken: string,
    eventId: string,
  ): Promise<{ errorNumber: number; errorMessage: string; serialNumber?: string }[]> {
    for (let i = 0; i < STATUS_POLLS; i++) {
      const status = await this.call<{
        eventStatus?: string;
        failures?: { errorNumber: number; errorMessage: string; serialNumber?: string }[];
      }>(sToken, 'GET', `/status?eventId=${encodeURIComponent(eventId)}`);
      if (status.eventStatus === 'COMPLETE') return [];
      if (status.eventStatus === 'FAILED')
        return status.failures?.length ? status.failures : [{ errorNumber: 0, errorMessage: 'failed' }];
      await new Promise((ok) => setTimeout(ok, STATUS_POLL_MS));
    }
    throw new AppleError(
      'vpp-unavailable',
      'unavailable',
      'Apps and Books did not finish the licence assignment in time.',
    );
  }

  /**
   * Called for every InstallApplication queued (AppleCommandsService.licensing). When the device's
   * ministry owns the app in Apps and Books, a licence is associated with the device's serial
   * number first (at Apple, then recorded with its audit event in the caller's transaction), and
   * the command names the app by its iTunesStoreID with the device-assigned purchase method.
   * An app the ministry does not license goes out as it was.
   */
  async prepareInstall(tx: EntityManager, deviceId: string, command: PlistDict): Promise<PlistDict> {
    const bundleId = command.Identifier;
    if (typeof bundleId !== 'string') return command;
    const [row] = (await tx.query(
      `SELECT d.ministry_code, s.serial_number, a.adam_id, a.pricing_param, a.available_count, a.total_count, t.stoken
         FROM device d
         JOIN vpp_asset a ON a.ministry_code = d.ministry_code AND a.bundle_id = $2 AND a.device_assignable
         JOIN vpp_token t ON t.ministry_code = d.ministry_code
         LEFT JOIN apple_device_serial s ON s.udid = d.apple_udid
        WHERE d.id = $1`,
      [deviceId, bundleId],
    )) as {
      ministry_code: string;
      serial_number: string | null;
      adam_id: string;
      pricing_param: string;
      available_count: number;
      total_count: number;
      stoken: string;
    }[];
    if (!row) return command;
    if (!row.serial_number)
      throw new PushError(
        `the serial number of this iPhone is not known yet, so no ${bundleId} licence can be assigned to it`,
        true,
      );
    const licensed: PlistDict = {
      RequestType: 'InstallApplication',
      iTunesStoreID: Number(row.adam_id),
      Options: { PurchaseMethod: 1 },
      ...(command.InstallAsManaged !== undefined ? { InstallAsManaged: command.InstallAsManaged } : {}),
      ...(command.ManagementFlags !== undefined ? { ManagementFlags: command.ManagementFlags } : {}),
    };
    const [held] = (await tx.query(
      `SELECT 1 FROM vpp_assignment WHERE ministry_code = $1 AND adam_id = $2 AND serial_number = $3 AND released_at IS NULL`,
      [row.ministry_code, row.adam_id, row.serial_number],
    )) as unknown[];
    if (held) return licensed;
    const outOf = () =>
      new OutOfLicencesError(
        `no ${bundleId} licence left in the ministry's Apps and Books (${row.total_count} bought, all assigned): buy more in Apple Business Manager, or release some, then push again`,
      );
    if (row.available_count <= 0) throw outOf();
    const asset = { adamId: row.adam_id, pricingParam: row.pricing_param };
    let failures: { errorNumber: number; errorMessage: string }[];
    try {
      const { eventId } = await this.call<{ eventId: string }>(row.stoken, 'POST', '/assets/associate', {
        assets: [asset],
        serialNumbers: [row.serial_number],
      });
      failures = await this.outcome(row.stoken, eventId);
    } catch (e) {
      if (e instanceof VppHttpError)
        throw new PushError(`Apps and Books refused the licence: ${e.errorMessage}`, false);
      throw new PushError(e instanceof Error ? e.message : String(e), true);
    }
    if (failures.length > 0) {
      // 9709: Apple's "insufficient licenses"; the local count is corrected so that IT sees it.
      if (failures.some((f) => f.errorNumber === 9709)) {
        await tx.query(
          `UPDATE vpp_asset SET available_count = 0, assigned_count = total_count WHERE ministry_code = $1 AND adam_id = $2`,
          [row.ministry_code, row.adam_id],
        );
        throw outOf();
      }
      throw new PushError(`Apps and Books refused the licence: ${failures[0].errorMessage}`, false);
    }
    await tx.query(
      `INSERT INTO vpp_assignment (ministry_code, adam_id, pricing_param, serial_number, device_id) VALUES ($1, $2, $3, $4, $5)`,
      [row.ministry_code, row.adam_id, row.pricing_param, row.serial_number, deviceId],
    );
    await tx.query(
      `UPDATE vpp_asset SET available_count = available_count - 1, assigned_count = assigned_count + 1
        WHERE ministry_code = $1 AND adam_id = $2`,
      [row.ministry_code, row.adam_id],
    );
    await this.audit.record(tx, SYSTEM, {
      action: 'apple.vpp-licence-assigned',
      entityType: 'device',
      entityId: deviceId,
      ministry: row.ministry_code,
      after: { adamId: row.adam_id, bundleId, serialNumber: row.serial_number },
    });
    return licensed;
  }

  /** Releases, at Apple and here, the licences held by devices that left (unenrolled or checked out). */
  async releaseLeft(ministry?: string): Promise<number> {
    const rows = (await this.db.query(
      `SELECT v.id, v.ministry_code, v.adam_id, v.pricing_param, v.serial_number, v.device_id, t.stoken
         FROM vpp_assignment v JOIN device d ON d.id = v.device_id JOIN vpp_token t ON t.ministry_code = v.ministry_code
        WHERE v.released_at IS NULL AND d.unenrolled_at IS NOT NULL AND ($1::text IS NULL OR v.ministry_code = $1)`,
      [ministry ?? null],
    )) as {
      id: string;
      ministry_code: string;
      adam_id: string;
      pricing_param: string;
      serial_number: string;
      device_id: string;
      stoken: string;
    }[];
    let released = 0;
    for (const r of rows) {
      try {
        const { eventId } = await this.call<{ eventId: string }>(r.stoken, 'POST', '/assets/disassociate', {
          assets: [{ adamId: r.adam_id, pricingParam: r.pricing_param }],
          serialNumbers: [r.serial_number],
        });
        const failures = await this.outcome(r.stoken, eventId);
        if (failures.length > 0) throw new Error(failures[0].errorMessage);
      } catch (e) {
        // Kept for the next try (the next check-out, asset sync or job): a fault delays, never loses.
        this.logger.warn(`licence ${r.adam_id} of ${r.serial_number} not released: ${(e as Error).message}`);
        continue;
      }
      await this.db.transaction(async (tx) => {
        await tx.query(`UPDATE vpp_assignment SET released_at = now() WHERE id = $1`, [r.id]);
        await tx.query(
          `UPDATE vpp_asset SET available_count = available_count + 1, assigned_count = greatest(assigned_count - 1, 0)
            WHERE ministry_code = $1 AND adam_id = $2`,
          [r.ministry_code, r.adam_id],
        );
        await this.audit.record(tx, SYSTEM, {
          action: 'apple.vpp-licence-released',
          entityType: 'device',
          entityId: r.device_id,
          ministry: r.ministry_code,
          after: { adamId: r.adam_id, serialNumber: r.serial_number },
        });
      });
      released++;
    }
    return released;
  }
}
