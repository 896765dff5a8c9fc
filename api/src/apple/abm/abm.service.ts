import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import * as x509 from '@peculiar/x509';
import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { AccessService } from '../../auth/access.service';
import { Actor, actorOf, Principal } from '../../auth/principal';
import { PolicyGroup } from '../../rollout/policy-group.entity';
import { AppleCommandsService } from '../apple-commands.service';
import { commands, PlistDict, policyProfile } from '../apple-payloads';
import { APPLE_SETTINGS, AppleSettings } from '../apple-settings';
import { AppleError } from '../apple.error';
import { ApnsService } from '../apns.service';
import { EXPIRY_WARNING_DAYS } from '../push-certificate.service';
import { AbmApiDevice, AbmClient, AbmDevicePage, AbmHttpError } from './abm-client';
import { decryptServerToken } from './server-token';
import { AppleEnrollmentService } from '../apple-enrollment.service';
import plist from 'plist';
import { plistShapeProblem } from '../../common/prescan';
import { verifySignedData } from '../cms/cms';
import { VppService } from '../vpp/vpp.service';
import { chainProblem, deviceAnchors } from './device-chain';
import { policyProfilePending } from '../apple.adapter';
import { DeviceStateService } from '../../devices/device-state.service';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The machine information plist (bounded before parsing, no entities), or a 400. */
function machineInfo(content: Buffer): Record<string, unknown> {
  const text = content.toString('utf8');
  const problem = /<!ENTITY/i.test(text) ? 'XML entities are not accepted' : plistShapeProblem(text);
  if (problem) throw new AppleError('malformed-plist', 'invalid', problem);
  let value: unknown;
  try {
    value = plist.parse(text);
  } catch {
    throw new AppleError('malformed-plist', 'invalid', 'The machine information is not a property list.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value))
    throw new AppleError('malformed-plist', 'invalid', 'The machine information must be a dictionary.');
  return value as Record<string, unknown>;
}

/** How a ministry's scheduled sync went: done, failed (retried later, with backoff), or skipped while IT's own ran. */
export type SyncOutcome = 'ok' | 'failed' | 'busy';
const DEFAULT_SYNC_PERIOD_MINUTES = 60;
/** Backoff after failures stops growing at a day: a fixed token is picked up by the next day. */
const MAX_SYNC_BACKOFF_MINUTES = 1440;
const SCHEDULED_SYNC: Actor = { id: null, label: 'system: scheduled sync with Apple' };

/** Apple's maximum page of the device fetch and sync calls, and of a profile assignment. */
export const ABM_PAGE = 1000;
const DEFAULT_ABM_URL = 'https://mdmenrollment.apple.com';

/**
 * Setup Assistant panes an agent's work iPhone skips: what the ministry decides, not the agent
 * (Apple ID, payment, Siri, analytics, Screen Time...). Names as Apple's SkipKeys list them.
 */
export const SKIP_SETUP_ITEMS = [
  'AppleID',
  'Payment',
  'Siri',
  'iCloudStorage',
  'iCloudDiagnostics',
  'Diagnostics',
  'ScreenTime',
  'Privacy',
  'TOS',
  'Android',
  'WatchMigration',
  'Restore',
  'SoftwareUpdate',
  'Appearance',
];

export interface AbmServerView {
  ministry: string;
  certificateCreatedAt: Date;
  /** The certificate to upload in ABM (Preferences → MDM server → Upload public key). */
  certificatePem: string;
  tokenImported: boolean;
  serverName: string | null;
  orgName: string | null;
  tokenExpiry: Date | null;
  daysLeft: number | null;
  warning: string | null;
  profileUuid: string | null;
  lastSyncAt: Date | null;
  /** The worker's last scheduled sync: ok, failed (syncError says why), or null before the first. */
  syncState: 'ok' | 'failed' | null;
  syncError: string | null;
  /** Scheduled syncs that failed in a row (each waits twice as long as the one before). */
  syncFailures: number;
  nextSyncAt: Date | null;
  devices: number;
  profileAssigned: number;
}

export interface AbmDeviceView {
  serialNumber: string;
  model: string | null;
  description: string | null;
  color: string | null;
  /** ABM's profile_status (empty, assigned, pushed, removed). */
  profileStatus: string | null;
  /** Whether the ministry's enrollment profile is the one assigned. */
  profileAssigned: boolean;
  profileAssignedAt: Date | null;
  /** The last assignment's answer for this serial (SUCCESS, NOT_ACCESSIBLE, FAILED). */
  assignResult: string | null;
  /** Enrolled with this MDM server (it has booted and checked in). */
  enrolled: boolean;
  syncedAt: Date;
}

export interface AbmSyncResult {
  /** Devices read from ABM (fetch, or changes since the last sync). */
  devicesRead: number;
  removed: number;
  assigned: number;
  notAssigned: number;
  profileUuid: string;
}

interface ServerRow {
  ministry_code: string;
  key_pem: string;
  cert_pem: string;
  cert_created_at: Date;
  consumer_key: string | null;
  consumer_secret: string | null;
  access_token: string | null;
  access_secret: string | null;
  access_token_expiry: Date | null;
  server_name: string | null;
  org_name: string | null;
  cursor: string | null;
  profile_uuid: string | null;
  profile_hash: string | null;
  last_sync_at: Date | null;
  sync_state: 'ok' | 'failed' | null;
  sync_error: string | null;
  sync_failures: number;
  next_sync_at: Date | null;
}

/**
 * Automated Device Enrollment through Apple Business Manager, per ministry: the certificate IT
 * uploads to ABM, the server token ABM returns, the device sync (fetch then sync cursor, pages of
 * 1,000), the enrollment profile (supervised, mandatory, not removable, awaiting configuration)
 * and its assignment, the ABM devices listed before their first boot; and, when such a phone
 * checks in `AwaitingConfiguration`, its initial configuration followed by `DeviceConfigured`.
 */
@Injectable()
export class AbmService {
  private readonly logger = new Logger('ABM');
  private readonly clients = new Map<string, { key: string; client: AbmClient }>();
  /** Who may sign machine information: Apple's device CAs, or ADE_DEVICE_CA_FILE's. */
  private readonly deviceAnchors: X509Certificate[];

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly queue: AppleCommandsService,
    private readonly apns: ApnsService,
    private readonly vpp: VppService,
    private readonly enrollment: AppleEnrollmentService,
    private readonly deviceState: DeviceStateService,
  ) {
    this.deviceAnchors = deviceAnchors(settings.deviceCaPem);
  }

  private async requireMinistry(principal: Principal, ministry: string): Promise<void> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    const [row] = (await this.db.query(`SELECT 1 FROM ministry WHERE code = $1`, [ministry])) as unknown[];
    if (!row) throw new AppleError('unknown-ministry', 'not-found', `No ministry "${ministry}".`);
  }

  /**
   * A new key pair and certificate for the ministry's MDM server in ABM. Creating another one
   * replaces the previous (the token in use keeps working; a token ABM issues later is encrypted
   * to the new certificate).
   */
  async createCertificate(principal: Principal, ministry: string): Promise<AbmServerView> {
    await this.requireMinistry(principal, ministry);
    const algorithm = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const now = new Date();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      name: `CN=MDM applications État — ${ministry}, O=État, C=FR`,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 3 * 365 * 86_400_000),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
      .toString('base64')
      .replace(/.{1,64}/g, '$&\n')
      .trimEnd()}\n-----END PRIVATE KEY-----\n`;
    const certPem = certificate.toString('pem');
    const actor = actorOf(principal);
    await this.db.transaction(async (tx) => {
      const [previous] = (await tx.query(`SELECT cert_created_at FROM abm_server WHERE ministry_code = $1`, [
        ministry,
      ])) as { cert_created_at: Date }[];
      await tx.query(
        `INSERT INTO abm_server (ministry_code, key_pem, cert_pem, cert_created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (ministry_code) DO UPDATE SET key_pem = $2, cert_pem = $3, cert_created_by = $4, cert_created_at = now()`,
        [ministry, keyPem, certPem, actor.label],
      );
      await this.audit.record(tx, actor, {
        action: 'apple.abm-certificate-created',
        entityType: 'abm-server',
        entityId: ministry,
        ministry,
        before: previous ? { certificateCreatedAt: previous.cert_created_at } : null,
        after: { serialNumber: certificate.serialNumber, notAfter: certificate.notAfter.toISOString() },
      });
    });
    return this.view(principal, ministry);
  }

  /**
   * Imports the server token file ABM gave for the ministry's MDM server, then checks it opens a
   * session. A renewed token ends the scheduled sync's backoff: the worker tries it at its next turn.
   */
  async importToken(principal: Principal, ministry: string, file: string): Promise<AbmServerView> {
    await this.requireMinistry(principal, ministry);
    const server = await this.server(ministry);
    if (!server)
      throw new AppleError(
        'abm-no-certificate',
        'conflict',
        'Create the certificate for Apple Business Manager first (POST …/apple/abm/certificate), upload it in ABM, then import the token ABM gives.',
      );
    const credentials = decryptServerToken(file, server.cert_pem, server.key_pem);
    const client = new AbmClient(this.abmUrl, credentials);
    let account: { server_name?: string; org_name?: string };
    try {
      account = await client.call('GET', '/account');
    } catch (e) {
      if (e instanceof AbmHttpError)
        throw new AppleError('abm-refused', 'conflict', `Apple Business Manager refused this token (${e.error}).`);
      throw e;
    }
    const actor = actorOf(principal);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE abm_server SET consumer_key = $2, consumer_secret = $3, access_token = $4, access_secret = $5,
                access_token_expiry = $6, server_name = $7, org_name = $8, token_imported_at = now(), token_imported_by = $9,
                next_sync_at = NULL, sync_failures = 0
          WHERE ministry_code = $1`,
        [
          ministry,
          credentials.consumerKey,
          credentials.consumerSecret,
          credentials.accessToken,
          credentials.accessSecret,
          credentials.accessTokenExpiry,
          account.server_name ?? null,
          account.org_name ?? null,
          actor.label,
        ],
      );
      await this.audit.record(tx, actor, {
        action: 'apple.abm-token-imported',
        entityType: 'abm-server',
        entityId: ministry,
        ministry,
        after: {
          serverName: account.server_name ?? null,
          orgName: account.org_name ?? null,
          expiry: credentials.accessTokenExpiry.toISOString(),
        },
      });
    });
    this.clients.set(ministry, { key: credentials.consumerKey, client });
    return this.view(principal, ministry);
  }

  async view(principal: Principal, ministry: string): Promise<AbmServerView> {
    await this.requireMinistry(principal, ministry);
    const server = await this.server(ministry);
    if (!server)
      throw new AppleError(
        'abm-no-certificate',
        'conflict',
        'Apple Business Manager is not connected for this ministry: create its certificate first.',
      );
    const [counts] = (await this.db.query(
      `SELECT count(*)::int AS devices, count(*) FILTER (WHERE profile_uuid = $2)::int AS assigned
         FROM abm_device WHERE ministry_code = $1 AND removed_at IS NULL`,
      [ministry, server.profile_uuid],
    )) as { devices: number; assigned: number }[];
    const expiry = server.access_token_expiry;
    const daysLeft = expiry ? Math.floor((expiry.getTime() - Date.now()) / 86_400_000) : null;
    return {
      ministry,
      certificateCreatedAt: server.cert_created_at,
      certificatePem: server.cert_pem,
      tokenImported: server.consumer_key !== null,
      serverName: server.server_name,
      orgName: server.org_name,
      tokenExpiry: expiry,
      daysLeft,
      warning:
        daysLeft !== null && daysLeft <= EXPIRY_WARNING_DAYS
          ? `The Apple Business Manager server token expires in ${daysLeft} day(s): download a renewed one from ABM and import it, or new iPhones stop being synced and assigned.`
          : null,
      profileUuid: server.profile_uuid,
      lastSyncAt: server.last_sync_at,
      syncState: server.sync_state,
      syncError: server.sync_error,
      syncFailures: server.sync_failures,
      nextSyncAt: server.next_sync_at,
      devices: counts.devices,
      profileAssigned: counts.assigned,
    };
  }

  /** The ministry's ABM devices, enrolled or not yet booted, by serial number. */
  async devices(
    principal: Principal,
    ministry: string,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; devices: AbmDeviceView[] }> {
    await this.requireMinistry(principal, ministry);
    const server = await this.server(ministry);
    const [{ total }] = (await this.db.query(
      `SELECT count(*)::int AS total FROM abm_device WHERE ministry_code = $1 AND removed_at IS NULL`,
      [ministry],
    )) as { total: number }[];
    const rows = (await this.db.query(
      `SELECT a.serial_number, a.model, a.description, a.color, a.profile_status, a.profile_uuid, a.profile_assigned_at,
              a.assign_result, a.synced_at,
              EXISTS (SELECT 1 FROM apple_device_serial s JOIN device d ON d.apple_udid = s.udid
                       WHERE s.serial_number = a.serial_number AND d.unenrolled_at IS NULL) AS enrolled
         FROM abm_device a WHERE a.ministry_code = $1 AND a.removed_at IS NULL
        ORDER BY a.serial_number LIMIT $2 OFFSET $3`,
      [ministry, page.limit, page.offset],
    )) as {
      serial_number: string;
      model: string | null;
      description: string | null;
      color: string | null;
      profile_status: string | null;
      profile_uuid: string | null;
      profile_assigned_at: Date | null;
      assign_result: string | null;
      synced_at: Date;
      enrolled: boolean;
    }[];
    return {
      total,
      devices: rows.map((r) => ({
        serialNumber: r.serial_number,
        model: r.model,
        description: r.description,
        color: r.color,
        profileStatus: r.profile_status,
        profileAssigned: server?.profile_uuid !== null && r.profile_uuid === server?.profile_uuid,
        profileAssignedAt: r.profile_assigned_at,
        assignResult: r.assign_result,
        enrolled: r.enrolled,
        syncedAt: r.synced_at,
      })),
    };
  }

  async sync(principal: Principal, ministry: string): Promise<AbmSyncResult> {
    await this.requireMinistry(principal, ministry);
    const result = await this.lockedSync(actorOf(principal), ministry);
    if (result === null)
      throw new AppleError(
        'abm-sync-running',
        'conflict',
        'A sync with Apple Business Manager is already running for this ministry: wait for it to finish.',
      );
    return result;
  }

  /** One sync per ministry at a time, across replicas (two would race on the cursor); null when one runs. */
  private async lockedSync(actor: Actor, ministry: string): Promise<AbmSyncResult | null> {
    const lock = this.db.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }] = (await lock.query(`SELECT pg_try_advisory_lock(hashtext('abm-sync:' || $1)) AS locked`, [
        ministry,
      ])) as { locked: boolean }[];
      if (!locked) return null;
      try {
        return await this.syncMinistry(actor, ministry);
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(hashtext('abm-sync:' || $1))`, [ministry]);
      }
    } finally {
      await lock.release();
    }
  }

  /**
   * What the worker runs every minute: each ministry whose turn came (ABM_SYNC_PERIOD_MINUTES after
   * its last try) is synced with ABM (device changes since the cursor, the profile assigned to new
   * devices) and its Apps and Books licence counts refreshed. A ministry that fails is not in the way
   * of the others: its error is kept and audited, and its next try waits twice as long each time
   * (at most a day), so that an outage at Apple or an expired token is not hammered every minute.
   */
  async scheduledSync(
    now = new Date(),
  ): Promise<{ abm: Record<string, SyncOutcome>; vpp: Record<string, SyncOutcome> }> {
    const period = this.settings.syncPeriodMinutes ?? DEFAULT_SYNC_PERIOD_MINUTES;
    const due = async (table: 'abm_server' | 'vpp_token', connected: string) =>
      (
        (await this.db.query(
          `SELECT ministry_code FROM ${table} WHERE ${connected} AND (next_sync_at IS NULL OR next_sync_at <= $1)
            ORDER BY ministry_code`,
          [now],
        )) as { ministry_code: string }[]
      ).map((r) => r.ministry_code);
    const abm: Record<string, SyncOutcome> = {};
    for (const ministry of await due('abm_server', 'consumer_key IS NOT NULL'))
      abm[ministry] = await this.scheduled('abm_server', ministry, now, period, () =>
        this.lockedSync(SCHEDULED_SYNC, ministry),
      );
    const vpp: Record<string, SyncOutcome> = {};
    for (const ministry of await due('vpp_token', 'true'))
      vpp[ministry] = await this.scheduled('vpp_token', ministry, now, period, () =>
        this.vpp.syncAssetsOf(SCHEDULED_SYNC, ministry),
      );
    return { abm, vpp };
  }

  private async scheduled(
    table: 'abm_server' | 'vpp_token',
    ministry: string,
    now: Date,
    period: number,
    run: () => Promise<unknown>,
  ): Promise<SyncOutcome> {
    try {
      // A sync asked for by IT holds the lock: this turn is skipped, not failed.
      if ((await run()) === null) return 'busy';
      await this.db.query(
        `UPDATE ${table} SET sync_state = 'ok', sync_error = NULL, sync_failures = 0, sync_attempted_at = $2,
                next_sync_at = $2::timestamptz + make_interval(mins => $3) WHERE ministry_code = $1`,
        [ministry, now, period],
      );
      return 'ok';
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.logger.warn(
        `${ministry}: scheduled ${table === 'abm_server' ? 'ABM' : 'Apps and Books'} sync failed: ${error}`,
      );
      await this.db.transaction(async (tx) => {
        const [row] = (await tx.query(
          `UPDATE ${table} SET sync_state = 'failed', sync_error = $2, sync_failures = sync_failures + 1, sync_attempted_at = $3,
                  next_sync_at = $3::timestamptz + make_interval(mins => least($4 * power(2, sync_failures + 1), $5)::int)
            WHERE ministry_code = $1 RETURNING sync_failures, next_sync_at`,
          [ministry, error, now, period, MAX_SYNC_BACKOFF_MINUTES],
        )) as { sync_failures: number; next_sync_at: Date }[];
        await this.audit.record(tx, SCHEDULED_SYNC, {
          action: table === 'abm_server' ? 'apple.abm-sync-failed' : 'apple.vpp-sync-failed',
          entityType: table === 'abm_server' ? 'abm-server' : 'vpp-token',
          entityId: ministry,
          ministry,
          after: { error, failuresInARow: row.sync_failures, nextTry: row.next_sync_at },
        });
      });
      return 'failed';
    }
  }

  private get abmUrl(): string {
    return (this.settings.abmUrl ?? DEFAULT_ABM_URL).replace(/\/$/, '');
  }

  private async server(ministry: string): Promise<ServerRow | undefined> {
    const [row] = (await this.db.query(`SELECT * FROM abm_server WHERE ministry_code = $1`, [ministry])) as ServerRow[];
    return row;
  }

  /** The session of a ministry is kept between calls (a new token replaces it). */
  private client(server: ServerRow): AbmClient {
    if (!server.consumer_key || !server.consumer_secret || !server.access_token || !server.access_secret)
      throw new AppleError(
        'abm-no-token',
        'conflict',
        'Import the server token from Apple Business Manager first (PUT …/apple/abm/token).',
      );
    const held = this.clients.get(server.ministry_code);
    if (held?.key === server.consumer_key) return held.client;
    const client = new AbmClient(this.abmUrl, {
      consumerKey: server.consumer_key,
      consumerSecret: server.consumer_secret,
      accessToken: server.access_token,
      accessSecret: server.access_secret,
    });
    this.clients.set(server.ministry_code, { key: server.consumer_key, client });
    return client;
  }

  /** The enrollment profile of a ministry, as POST /profile takes it. */
  profileFor(ministry: string): Record<string, unknown> {
    return {
      profile_name: `Téléphones professionnels — ${ministry}`,
      url: `${this.settings.serverBaseUrl}/apple/ade/${encodeURIComponent(ministry)}/enroll`,
      is_supervised: true,
      is_mandatory: true,
      is_mdm_removable: false,
      await_device_configured: true,
      language: 'fr',
      region: 'FR',
      department: `Ministère (${ministry})`,
      org_magic: ministry,
      skip_setup_items: SKIP_SETUP_ITEMS,
    };
  }

  /**
   * Reads the ministry's devices from ABM (the whole list the first time, then the changes since
   * the stored cursor; a cursor ABM no longer knows starts a full fetch again), defines the
   * enrollment profile when it is new or changed, and assigns it to every device that lacks it.
   * Each page is written with its audit event and the cursor in one transaction.
   */
  async syncMinistry(actor: Actor, ministry: string): Promise<AbmSyncResult> {
    // Apple refuses it too (CONFIG_URL_INVALID); said first, in the service's words, before anything is read or written.
    const url = String(this.profileFor(ministry).url);
    if (this.settings.production && !/^https:\/\//i.test(url))
      throw new AppleError(
        'not-configured',
        'conflict',
        `The enrollment profile's url would be ${url}: in production iPhones must reach the MDM server over https. Set MDM_SERVER_URL to its https:// address, then sync again.`,
      );
    let server = await this.server(ministry);
    if (!server)
      throw new AppleError(
        'abm-no-certificate',
        'conflict',
        'Apple Business Manager is not connected for this ministry.',
      );
    const client = this.client(server);
    let cursor = server.cursor;
    let devicesRead = 0;
    let removed = 0;
    for (let more = true; more;) {
      let page: AbmDevicePage;
      try {
        page = cursor
          ? await client.call<AbmDevicePage>('POST', '/devices/sync', { cursor, limit: ABM_PAGE })
          : await client.call<AbmDevicePage>('POST', '/server/devices', { limit: ABM_PAGE });
      } catch (e) {
        if (e instanceof AbmHttpError && cursor && /EXPIRED_CURSOR|INVALID_CURSOR/.test(e.error)) {
          this.logger.warn(`${ministry}: ABM cursor refused (${e.error}), fetching every device again`);
          cursor = null;
          continue;
        }
        throw this.refused(e);
      }
      const fetching = cursor === null;
      // Later pages of a fetch go on with the fetch cursor; once done, the cursor is the sync's.
      for (;;) {
        const devices = page.devices ?? [];
        devicesRead += devices.length;
        removed += await this.db.transaction(async (tx) => {
          const gone = await this.storeDevices(tx, ministry, devices);
          await tx.query(`UPDATE abm_server SET cursor = $2, cursor_at = now() WHERE ministry_code = $1`, [
            ministry,
            page.cursor,
          ]);
          await this.audit.record(tx, actor, {
            action: 'apple.abm-devices-synced',
            entityType: 'abm-server',
            entityId: ministry,
            ministry,
            after: { mode: fetching ? 'fetch' : 'sync', devices: devices.length, removed: gone },
          });
          return gone;
        });
        cursor = page.cursor;
        if (!fetching || !page.more_to_follow) break;
        try {
          page = await client.call<AbmDevicePage>('POST', '/server/devices', { cursor, limit: ABM_PAGE });
        } catch (e) {
          throw this.refused(e);
        }
      }
      more = !fetching && page.more_to_follow;
    }
    server = (await this.server(ministry)) as ServerRow;
    const profileUuid = await this.ensureProfile(actor, server, client);
    const { assigned, notAssigned } = await this.assignProfile(actor, ministry, profileUuid, client);
    await this.db.query(`UPDATE abm_server SET last_sync_at = now() WHERE ministry_code = $1`, [ministry]);
    return { devicesRead, removed, assigned, notAssigned, profileUuid };
  }

  private refused(e: unknown): unknown {
    if (e instanceof AbmHttpError)
      return new AppleError(
        'abm-refused',
        'conflict',
        `Apple Business Manager refused the request (${e.status} ${e.error}).`,
      );
    return e;
  }

  /** Upserts a page; returns how many ABM removed (op_type deleted). */
  private async storeDevices(tx: EntityManager, ministry: string, devices: AbmApiDevice[]): Promise<number> {
    const present = devices.filter((d) => d.op_type !== 'deleted');
    const deleted = devices.filter((d) => d.op_type === 'deleted').map((d) => d.serial_number);
    if (present.length > 0)
      await tx.query(
        `INSERT INTO abm_device (serial_number, ministry_code, model, description, color, os, device_family, profile_status, profile_uuid, profile_assigned_at)
         SELECT d.serial_number, $1, d.model, d.description, d.color, d.os, d.device_family, d.profile_status, d.profile_uuid, d.profile_assign_time
           FROM jsonb_to_recordset($2::jsonb) AS d(serial_number text, model text, description text, color text, os text,
                device_family text, profile_status text, profile_uuid text, profile_assign_time timestamptz)
         ON CONFLICT (serial_number) DO UPDATE SET ministry_code = EXCLUDED.ministry_code, model = EXCLUDED.model,
                description = EXCLUDED.description, color = EXCLUDED.color, os = EXCLUDED.os,
                device_family = EXCLUDED.device_family, profile_status = EXCLUDED.profile_status,
                profile_uuid = EXCLUDED.profile_uuid,
                profile_assigned_at = coalesce(EXCLUDED.profile_assigned_at, abm_device.profile_assigned_at),
                removed_at = NULL, synced_at = now()`,
        [ministry, JSON.stringify(present)],
      );
    if (deleted.length === 0) return 0;
    const [, count] = (await tx.query(
      `UPDATE abm_device SET removed_at = now(), synced_at = now() WHERE ministry_code = $1 AND serial_number = ANY($2) AND removed_at IS NULL`,
      [ministry, deleted],
    )) as [unknown, number];
    return count;
  }

  /** Defines the profile at ABM when the ministry has none, or when what it should say changed. */
  private async ensureProfile(actor: Actor, server: ServerRow, client: AbmClient): Promise<string> {
    const profile = this.profileFor(server.ministry_code);
    const hash = createHash('sha256').update(JSON.stringify(profile)).digest('hex');
    if (server.profile_uuid && server.profile_hash === hash) return server.profile_uuid;
    let answer: { profile_uuid?: string };
    try {
      answer = await client.call('POST', '/profile', profile);
    } catch (e) {
      throw this.refused(e);
    }
    if (typeof answer.profile_uuid !== 'string')
      throw new AppleError('abm-unavailable', 'unavailable', 'Apple Business Manager gave no profile_uuid.');
    const profileUuid = answer.profile_uuid;
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE abm_server SET profile_uuid = $2, profile_hash = $3 WHERE ministry_code = $1`, [
        server.ministry_code,
        profileUuid,
        hash,
      ]);
      await this.audit.record(tx, actor, {
        action: 'apple.abm-profile-defined',
        entityType: 'abm-server',
        entityId: server.ministry_code,
        ministry: server.ministry_code,
        before: server.profile_uuid ? { profileUuid: server.profile_uuid } : null,
        after: { profileUuid, ...profile },
      });
    });
    return profileUuid;
  }

  private async assignProfile(
    actor: Actor,
    ministry: string,
    profileUuid: string,
    client: AbmClient,
  ): Promise<{ assigned: number; notAssigned: number }> {
    let assigned = 0;
    let notAssigned = 0;
    let after = '';
    for (;;) {
      // Devices without the profile, by serial; a device ABM refused is not asked again until the next sync.
      const serials = (
        (await this.db.query(
          `SELECT serial_number FROM abm_device
            WHERE ministry_code = $1 AND removed_at IS NULL AND profile_uuid IS DISTINCT FROM $2 AND serial_number > $3
            ORDER BY serial_number LIMIT $4`,
          [ministry, profileUuid, after, ABM_PAGE],
        )) as { serial_number: string }[]
      ).map((r) => r.serial_number);
      if (serials.length === 0) break;
      after = serials[serials.length - 1];
      let answer: { devices?: Record<string, string> };
      try {
        answer = await client.call('PUT', '/profile/devices', { profile_uuid: profileUuid, devices: serials });
      } catch (e) {
        throw this.refused(e);
      }
      const results = answer.devices ?? {};
      const ok = serials.filter((s) => results[s] === 'SUCCESS');
      const failed = serials.filter((s) => results[s] !== 'SUCCESS');
      assigned += ok.length;
      notAssigned += failed.length;
      await this.db.transaction(async (tx) => {
        await tx.query(
          `UPDATE abm_device SET profile_uuid = $2, profile_status = 'assigned', profile_assigned_at = now(), assign_result = 'SUCCESS'
            WHERE ministry_code = $1 AND serial_number = ANY($3)`,
          [ministry, profileUuid, ok],
        );
        if (failed.length > 0)
          await tx.query(
            `UPDATE abm_device SET assign_result = d.result FROM jsonb_to_recordset($2::jsonb) AS d(serial text, result text)
              WHERE abm_device.ministry_code = $1 AND abm_device.serial_number = d.serial`,
            [ministry, JSON.stringify(failed.map((s) => ({ serial: s, result: results[s] ?? 'FAILED' })))],
          );
        await this.audit.record(tx, actor, {
          action: 'apple.abm-profile-assigned',
          entityType: 'abm-server',
          entityId: ministry,
          ministry,
          after: { profileUuid, assigned: ok.length, refused: Object.fromEntries(failed.map((s) => [s, results[s]])) },
        });
      });
    }
    return { assigned, notAssigned };
  }

  /**
   * The enrollment profile for an ABM iPhone in Setup Assistant: it POSTs its machine information
   * (a CMS SignedData of a plist with UDID, SERIAL, PRODUCT, VERSION…) to the profile's `url`. The
   * signature must verify and the serial must be one of the ministry's ABM devices; the phone then
   * gets an enrollment profile of its own (a one-phone enrollment of the ministry, so that the
   * identity checks of the check-in apply unchanged), and its serial number is kept for licences.
   */
  async enrollmentProfile(ministry: string, body: Buffer): Promise<Buffer> {
    if (body.length === 0)
      throw new AppleError('empty-body', 'invalid', 'The machine information (a signed property list) is missing.');
    const signed = verifySignedData(body);
    if (!signed.ok || !signed.content)
      throw new AppleError(
        'bad-signature',
        'unauthenticated',
        `The machine information is not a valid signed message (${signed.reason ?? 'no content'}).`,
      );
    // A valid signature proves nothing by itself: the signer must be an iPhone's identity from Apple.
    const untrusted = chainProblem(signed.certificatePem ?? '', signed.certificatesPem ?? [], this.deviceAnchors);
    if (untrusted)
      throw new AppleError(
        'bad-signature',
        'unauthenticated',
        `The machine information is not signed by an iPhone's device identity from Apple (${untrusted}): only an iPhone in Setup Assistant gets this profile.`,
      );
    const info = machineInfo(signed.content);
    const serial = typeof info.SERIAL === 'string' ? info.SERIAL : '';
    const udid = typeof info.UDID === 'string' ? info.UDID : '';
    if (!serial || !udid)
      throw new AppleError('malformed-checkin', 'invalid', 'The machine information needs SERIAL and UDID.');
    const token = randomBytes(24).toString('base64url');
    await this.db.transaction(async (tx) => {
      const [device] = (await tx.query(
        `SELECT 1 FROM abm_device WHERE serial_number = $1 AND ministry_code = $2 AND removed_at IS NULL`,
        [serial, ministry],
      )) as unknown[];
      if (!device)
        throw new AppleError(
          'abm-unknown-device',
          'forbidden',
          "This iPhone is not assigned to this ministry's MDM server in Apple Business Manager (or was not synced yet).",
        );
      const [link] = (await tx.query(
        `INSERT INTO apple_enrollment (token, ministry_code, agent_id, expires_at, created_by, max_devices)
         VALUES ($1, $2, NULL, now() + interval '1 hour', 'system: Automated Device Enrollment', 1) RETURNING id`,
        [token, ministry],
      )) as { id: string }[];
      await tx.query(
        `INSERT INTO apple_device_serial (udid, serial_number) VALUES ($1, $2)
         ON CONFLICT (udid) DO UPDATE SET serial_number = $2, seen_at = now()`,
        [udid, serial],
      );
      await tx.query(`UPDATE abm_device SET udid = $2 WHERE serial_number = $1`, [serial, udid]);
      await this.audit.record(
        tx,
        { id: null, label: 'system: Automated Device Enrollment' },
        {
          action: 'apple.ade-profile-served',
          entityType: 'apple-enrollment-link',
          entityId: link.id,
          ministry,
          after: {
            serial,
            udid,
            product: typeof info.PRODUCT === 'string' ? info.PRODUCT : null,
            version: typeof info.VERSION === 'string' ? info.VERSION : null,
          },
        },
      );
    });
    return this.enrollment.profile(token);
  }

  /**
   * Called by the check-in handler after each check-in message it accepted. Authenticate: the
   * serial number the phone reports is kept (licences are assigned to serials). TokenUpdate with
   * `AwaitingConfiguration`: the phone waits in Setup Assistant for its configuration; it is
   * queued now (policy profile with Restrictions and web clips, required apps — each with its
   * licence — then `DeviceConfigured`), so that the phone leaves Setup Assistant configured.
   */
  async onCheckin(type: string, udid: string, message: Record<string, unknown>): Promise<void> {
    if (type === 'Authenticate' && typeof message.SerialNumber === 'string' && message.SerialNumber !== '') {
      await this.db.query(
        `INSERT INTO apple_device_serial (udid, serial_number) VALUES ($1, $2)
         ON CONFLICT (udid) DO UPDATE SET serial_number = $2, seen_at = now()`,
        [udid, message.SerialNumber],
      );
      return;
    }
    if (type === 'CheckOut') {
      await this.vpp.releaseLeft();
      return;
    }
    if (type !== 'TokenUpdate' || message.AwaitingConfiguration !== true) return;
    const [device] = (await this.db.query(
      `SELECT id, ministry_code, group_id, installed_apps FROM device WHERE apple_udid = $1 AND unenrolled_at IS NULL`,
      [udid],
    )) as { id: string; ministry_code: string; group_id: string | null; installed_apps: { id: string }[] }[];
    if (!device) return;
    const group = device.group_id ? await this.db.getRepository(PolicyGroup).findOneBy({ id: device.group_id }) : null;
    await this.db.transaction(async (tx) => {
      const [pending] = (await tx.query(
        `SELECT 1 FROM apple_command WHERE device_id = $1 AND request_type = 'DeviceConfigured' AND status IN ('queued', 'sent', 'acknowledged')`,
        [device.id],
      )) as unknown[];
      if (pending) return; // a TokenUpdate repeated while the configuration is on its way, or after it
      const queued: string[] = [];
      if (group) {
        // The rollout engine may have queued it already (its push for the enrollment ran first).
        if (!(await policyProfilePending(tx, device.id, group.desiredHash))) {
          await this.queue.cancelPending(tx, device.id, 'InstallProfile');
          await this.queue.enqueue(
            tx,
            device.id,
            commands.installProfile(policyProfile(group.effective)),
            group.desiredHash,
          );
        }
        // What the rollout engine reads to know the phone was sent its policy: else it queues the same profile again.
        await this.deviceState.recordPushed(device.id, { pushedHash: group.desiredHash }, tx);
        queued.push('InstallProfile');
        const installed = new Set(device.installed_apps.map((a) => a.id));
        for (const app of group.effective.apps)
          if (app.action === 'require' && app.ios.length > 0 && !app.ios.some((b) => installed.has(b))) {
            await this.queue.enqueue(tx, device.id, commands.installApplication(app.ios[0]));
            queued.push(`InstallApplication ${app.ios[0]}`);
          }
      }
      const deviceConfigured: PlistDict = { RequestType: 'DeviceConfigured' };
      await this.queue.enqueue(tx, device.id, deviceConfigured);
      await this.audit.record(
        tx,
        { id: null, label: 'system: Automated Device Enrollment' },
        {
          action: 'apple.ade-configured',
          entityType: 'device',
          entityId: device.id,
          ministry: device.ministry_code,
          after: { udid, commands: [...queued, 'DeviceConfigured'] },
        },
      );
    });
    await this.apns.wake(device.id).catch((e: Error) => this.logger.warn(`push after configuration: ${e.message}`));
  }
}
