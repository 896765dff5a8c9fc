import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { DataSource, QueryFailedError } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { Actor } from '../../auth/principal';
import { DeviceStateService } from '../../devices/device-state.service';
import { fleetSql } from '../../devices/fleet-sql';
import { AppleCaService } from '../apple-ca.service';
import { AppleCommandsService } from '../apple-commands.service';
import { commands } from '../apple-payloads';
import { APPLE_SETTINGS, AppleSettings } from '../apple-settings';
import { AppleError } from '../apple.error';
import { ApnsService } from '../apns.service';
import { scepChallengeHash } from '../apple-enrollment.service';
import { enrollmentProfile, Pkcs12Identity, ScepIdentity } from '../enrollment-profile';
import { PushCertificateService } from '../push-certificate.service';
import { renewalsThisRun } from './renewal-quota';

export const DEFAULT_IDENTITY_RENEW_DAYS = 60;
/**
 * Renewals one run may queue at most (the worker runs every minute). Each costs about 230 ms of
 * CPU (key generation, PKCS#12): 30 a minute is 43,200 a day, a 100,000-iPhone fleet enrolled in
 * one week renewed in under three days, without starving the worker.
 */
export const MAX_RENEWALS_PER_RUN = 30;
/** A phone that refused its renewal (or whose renewal was cancelled) is sent another after this long. */
export const RETRY_AFTER_HOURS = 24;

const RENEWAL: Actor = { id: null, label: 'system: Apple identity renewal' };

/** What an InstallProfile of a renewal carries: its identity once there is one (SCEP: once the phone asked for it). */
export interface RenewalOfCommand {
  identity: string | null;
}

/** A renewal identity as the protocol meets it: the identity it replaces and the phone it is for. */
export interface RenewalIdentity {
  serial: string;
  renews: string;
  /** The UDID of the identity it replaces (null once that one was revoked). */
  udid: string | null;
  /** Already bound: it replaced the old identity. */
  tookOver: boolean;
  revoked: boolean;
}

interface Due {
  serial: string;
  not_after: Date;
  enrollment_id: string;
  device_id: string;
  ministry_code: string;
  needed: number;
}

/**
 * Device identities that stay: before an identity lapses (APPLE_IDENTITY_RENEW_DAYS), the phone is
 * sent an InstallProfile with a fresh enrollment profile — same PayloadIdentifier, same Topic and
 * ServerURL (Apple rejects an MDM payload update that changes them), a new identity. iOS replaces
 * the profile in place: it sends Authenticate, then TokenUpdate, signed with the new identity, and
 * uses it from then on; the device keeps its id, policy, compliance and commands.
 *
 * The new identity is bound to the phone (and the old one revoked) when the phone proves it
 * installed the payload: a TokenUpdate or any command-channel message signed with it, or the
 * InstallProfile acknowledged. Its Authenticate alone changes nothing (Apple: the profile may still
 * fail to install). An Error answer revokes the new identity, the old one keeps working, and the
 * phone is tried again a day later.
 *
 * With APPLE_IDENTITY_DELIVERY=scep the profile carries a SCEP payload instead of a PKCS#12: a
 * one-time challenge bound to the identity it renews (`apple_scep_challenge.renews`), so that a
 * phone enrolled through SCEP makes its new key itself, as it made the first one. Trading the
 * challenge (ScepService) inserts the renewal identity, which then takes over exactly as above; a
 * challenge not yet traded counts as the pending renewal, and an Error answer withdraws it.
 */
@Injectable()
export class AppleIdentityRenewalService {
  private readonly logger = new Logger('AppleIdentityRenewal');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly ca: AppleCaService,
    private readonly push: PushCertificateService,
    private readonly queue: AppleCommandsService,
    private readonly apns: ApnsService,
    private readonly audit: AuditService,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly devices: DeviceStateService,
  ) {}

  /** One run (every minute): renewals whose command was cancelled are dropped, then a share of the due phones renewed. */
  async tick(): Promise<{ queued: number; dropped: number }> {
    const dropped = await this.dropCancelled();
    const active = await this.push.active();
    if (!active) return { queued: 0, dropped };
    const due = await this.due(active.topic);
    const quota = renewalsThisRun(due[0]?.needed ?? 0, due.length, MAX_RENEWALS_PER_RUN);
    let queued = 0;
    for (const d of due.slice(0, quota)) if (await this.renew(d, active.topic)) queued++;
    return { queued, dropped };
  }

  /**
   * Identities in use that lapse within the window, soonest first, with no renewal pending and none
   * refused in the last day; `needed`: the renewals a minute it takes for each to be renewed by half
   * its remaining time (so a refused or postponed renewal still has time to be tried again).
   * Phones whose push topic is not the active certificate's are left out: iOS refuses a Topic change.
   */
  private async due(topic: string): Promise<Due[]> {
    const days = this.settings.identityRenewDays ?? DEFAULT_IDENTITY_RENEW_DAYS;
    return (await this.db.query(
      `WITH due AS (
         SELECT i.serial, i.not_after, i.enrollment_id, d.id AS device_id, d.ministry_code,
                row_number() OVER (ORDER BY i.not_after, i.serial) AS n
           FROM apple_identity i
           JOIN device d ON d.apple_udid = i.udid AND d.platform = 'ios' AND ${fleetSql.reachable('d')}
          WHERE i.udid IS NOT NULL AND i.revoked_at IS NULL
            AND i.not_after > now() AND i.not_after < now() + make_interval(days => $1)
            AND (d.apns_topic IS NULL OR d.apns_topic = $2)
            AND NOT EXISTS (SELECT 1 FROM apple_identity r
                             WHERE r.renews = i.serial
                               AND (r.revoked_at IS NULL OR r.revoked_at > now() - make_interval(hours => $3)))
            AND NOT EXISTS (SELECT 1 FROM apple_scep_challenge c
                             WHERE c.renews = i.serial
                               AND ((c.used_at IS NULL AND c.revoked_at IS NULL)
                                    OR c.revoked_at > now() - make_interval(hours => $3)))
       )
       SELECT serial, not_after, enrollment_id, device_id, ministry_code,
              (SELECT max(n / greatest(extract(epoch FROM not_after - now()) / 120, 1)) FROM due)::float8 AS needed
         FROM due ORDER BY n LIMIT $4`,
      [days, topic, RETRY_AFTER_HOURS, MAX_RENEWALS_PER_RUN],
    )) as Due[];
  }

  /** One phone: a new identity (or its SCEP challenge), its enrollment profile queued, the phone woken; false when it needs none any more. */
  private async renew(d: Due, topic: string): Promise<boolean> {
    // PKCS#12: the key generation runs before the transaction (off the event loop, no lock held meanwhile).
    // SCEP: only a challenge; the phone makes its key and the CA certifies it when the challenge is traded.
    const issued =
      this.settings.identityDelivery === 'scep' ? null : await this.ca.issueIdentity(`appareil ${randomUUID()}`);
    const challenge = randomBytes(24).toString('base64url');
    const identity: Pkcs12Identity | ScepIdentity = issued
      ? { kind: 'pkcs12', p12: issued.p12, password: issued.password }
      : {
          kind: 'scep',
          url: `${this.settings.serverBaseUrl}/apple/scep`,
          challenge,
          commonName: `appareil ${randomUUID()}`,
        };
    const profile = enrollmentProfile({ identity, topic, serverBaseUrl: this.settings.serverBaseUrl });
    let command: string | null;
    try {
      command = await this.db.transaction(async (tx) => {
        // The identity locked: a second worker renewing the same phone waits here, then finds the renewal pending.
        const [current] = (await tx.query(
          `SELECT i.serial FROM apple_identity i
            WHERE i.serial = $1 AND i.udid IS NOT NULL AND i.revoked_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM apple_identity r WHERE r.renews = i.serial AND r.udid IS NULL AND r.revoked_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM apple_scep_challenge c
                               WHERE c.renews = i.serial AND c.used_at IS NULL AND c.revoked_at IS NULL)
            FOR UPDATE`,
          [d.serial],
        )) as unknown[];
        if (!current) return null;
        let uuid: string;
        let after: Record<string, unknown>;
        if (issued) {
          const notAfter = new Date(new X509Certificate(issued.certPem).validTo);
          await tx.query(
            `INSERT INTO apple_identity (serial, enrollment_id, not_after, renews) VALUES ($1, $2, $3, $4)`,
            [issued.serial, d.enrollment_id, notAfter, d.serial],
          );
          uuid = await this.queue.enqueue(tx, d.device_id, commands.installProfile(profile));
          await tx.query(`UPDATE apple_identity SET renewal_command = $2 WHERE serial = $1`, [issued.serial, uuid]);
          after = { identity: issued.serial, expiresAt: notAfter.toISOString(), command: uuid };
        } else {
          // Valid as long as the identity it renews: the phone may stay switched off for days before it gets it.
          const hash = scepChallengeHash(challenge);
          await tx.query(
            `INSERT INTO apple_scep_challenge (challenge_hash, enrollment_id, expires_at, renews) VALUES ($1, $2, $3, $4)`,
            [hash, d.enrollment_id, d.not_after, d.serial],
          );
          uuid = await this.queue.enqueue(tx, d.device_id, commands.installProfile(profile));
          await tx.query(`UPDATE apple_scep_challenge SET renewal_command = $2 WHERE challenge_hash = $1`, [
            hash,
            uuid,
          ]);
          after = { delivery: 'scep', challengeExpiresAt: d.not_after.toISOString(), command: uuid };
        }
        await this.audit.record(tx, RENEWAL, {
          action: 'apple.identity-renewal-queued',
          entityType: 'device',
          entityId: d.device_id,
          ministry: d.ministry_code,
          before: { identity: d.serial, expiresAt: d.not_after.toISOString() },
          after,
        });
        return uuid;
      });
    } catch (e) {
      // The unique indexes of pending renewals: another worker queued this phone's renewal first.
      if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === '23505') return false;
      throw e;
    }
    if (!command) return false;
    await this.apns
      .wake(d.device_id)
      .catch((e: Error) => this.logger.warn(`push for the identity renewal of ${d.device_id}: ${e.message}`));
    return true;
  }

  /**
   * Renewals whose InstallProfile will never reach the phone (a newer policy cancelled the pending
   * profile installations, or it was pruned): deleted, the identity (or SCEP challenge) was never
   * handed out; the phone is renewed again at a later run.
   */
  private async dropCancelled(): Promise<number> {
    const live = (column: string) =>
      `EXISTS (SELECT 1 FROM apple_command k WHERE k.uuid = ${column} AND k.status IN ('queued', 'sent', 'not-now', 'acknowledged'))`;
    return this.db.transaction(async (tx) => {
      const gone = (await tx.query(
        `SELECT r.serial FROM apple_identity r
          WHERE r.renews IS NOT NULL AND r.udid IS NULL AND r.revoked_at IS NULL AND NOT ${live('r.renewal_command')}
          FOR UPDATE`,
      )) as { serial: string }[];
      const serials = gone.map((g) => g.serial);
      // A challenge not traded yet, or traded for one of these identities (its row names the identity).
      const [challenges] = (await tx.query(
        `DELETE FROM apple_scep_challenge c
          WHERE c.renews IS NOT NULL
            AND ((c.used_at IS NULL AND c.revoked_at IS NULL AND NOT ${live('c.renewal_command')})
                 OR c.serial = ANY($1::text[]))
          RETURNING c.serial`,
        [serials],
      )) as [{ serial: string | null }[], number];
      await tx.query(`DELETE FROM apple_identity WHERE serial = ANY($1::text[])`, [serials]);
      return serials.length + challenges.filter((c) => c.serial === null).length;
    });
  }

  /** The renewal identity `serial`, if it is one. */
  async renewalOf(serial: string): Promise<RenewalIdentity | null> {
    const [row] = (await this.db.query(
      `SELECT n.serial, n.renews, n.udid IS NOT NULL AS took_over, n.revoked_at IS NOT NULL AS revoked,
              coalesce(n.udid, (SELECT o.udid FROM apple_identity o WHERE o.serial = n.renews)) AS udid
         FROM apple_identity n WHERE n.serial = $1 AND n.renews IS NOT NULL`,
      [serial],
    )) as { serial: string; renews: string; took_over: boolean; revoked: boolean; udid: string | null }[];
    return row
      ? { serial: row.serial, renews: row.renews, udid: row.udid, tookOver: row.took_over, revoked: row.revoked }
      : null;
  }

  /** The renewal an InstallProfile carries, if it carries one: its identity, once issued. */
  async ofCommand(commandUuid: string): Promise<RenewalOfCommand | null> {
    const [row] = (await this.db.query(
      `SELECT (SELECT serial FROM apple_identity WHERE renewal_command = $1) AS identity,
              EXISTS (SELECT 1 FROM apple_scep_challenge WHERE renewal_command = $1) AS challenge`,
      [commandUuid.toLowerCase()],
    )) as { identity: string | null; challenge: boolean }[];
    return row.identity || row.challenge ? { identity: row.identity } : null;
  }

  /**
   * The phone proved it installed its renewal: the new identity is bound to its UDID, the old one
   * revoked (a stolen copy of it is refused from now on), the device row keeps its id and
   * everything else, its identity serial follows; audited in the same transaction. Idempotent.
   */
  async takeOver(serial: string, udid: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [old] = (await tx.query(
        `SELECT o.serial, o.udid, o.revoked_at, o.enrolled_at, o.not_after
           FROM apple_identity o JOIN apple_identity n ON n.renews = o.serial
          WHERE n.serial = $1 FOR UPDATE OF o`,
        [serial],
      )) as {
        serial: string;
        udid: string | null;
        revoked_at: Date | null;
        enrolled_at: Date | null;
        not_after: Date;
      }[];
      const [renewal] = (await tx.query(
        `SELECT udid, revoked_at, not_after FROM apple_identity WHERE serial = $1 FOR UPDATE`,
        [serial],
      )) as { udid: string | null; revoked_at: Date | null; not_after: Date }[];
      if (!old || !renewal) throw new AppleError('unknown-identity', 'forbidden', 'This device identity renews none.');
      if (renewal.udid === udid) return; // already took over (the phone's next message, or a concurrent one)
      if (renewal.revoked_at || renewal.udid)
        throw new AppleError(
          'identity-revoked',
          'forbidden',
          'This renewed device identity was withdrawn (its installation was reported as failed): the phone keeps its previous identity.',
        );
      if (old.revoked_at || old.udid !== udid)
        throw new AppleError(
          'udid-mismatch',
          'forbidden',
          'This renewed device identity belongs to another device, or the identity it renews is no longer in use.',
        );
      // One identity per phone counts towards its enrollment link (enrolled_at): the new one takes the old one's.
      await tx.query(
        `UPDATE apple_identity SET udid = NULL, enrolled_at = NULL, revoked_at = now(), replaced_at = now() WHERE serial = $1`,
        [old.serial],
      );
      await tx.query(`UPDATE apple_identity SET udid = $2, enrolled_at = coalesce($3, now()) WHERE serial = $1`, [
        serial,
        udid,
        old.enrolled_at,
      ]);
      for (const device of await this.devices.switchIdentity(tx, udid, serial))
        await this.audit.record(tx, RENEWAL, {
          action: 'apple.identity-renewed',
          entityType: 'device',
          entityId: device.id,
          ministry: device.ministry_code,
          before: { identity: old.serial, expiresAt: old.not_after.toISOString() },
          after: { identity: serial, expiresAt: renewal.not_after.toISOString() },
        });
    });
  }

  /**
   * The phone answered its renewal's InstallProfile `command` with an error (or a malformed-command
   * answer): the new identity is withdrawn unless the phone already speaks with it, and so is a SCEP
   * challenge not traded yet; the old identity keeps working, and the phone is tried again after
   * RETRY_AFTER_HOURS. Audited with Apple's reason.
   */
  async refused(deviceId: string, command: string, reason: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [challenges] = (await tx.query(
        `UPDATE apple_scep_challenge SET revoked_at = now()
          WHERE renewal_command = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING renews`,
        [command.toLowerCase()],
      )) as [{ renews: string }[], number];
      const [identities] = (await tx.query(
        `UPDATE apple_identity SET revoked_at = now()
          WHERE renewal_command = $1 AND udid IS NULL AND revoked_at IS NULL RETURNING serial, renews`,
        [command.toLowerCase()],
      )) as [{ serial: string; renews: string }[], number];
      const renews = identities[0]?.renews ?? challenges[0]?.renews;
      if (!renews) return;
      const [device] = (await tx.query(`SELECT ministry_code FROM device WHERE id = $1`, [deviceId])) as {
        ministry_code: string;
      }[];
      await this.audit.record(tx, RENEWAL, {
        action: 'apple.identity-renewal-refused',
        entityType: 'device',
        entityId: deviceId,
        ministry: device?.ministry_code,
        before: { identity: renews },
        after: {
          withdrawn: identities[0]?.serial ?? null,
          ...(challenges.length > 0 ? { scepChallengeWithdrawn: true } : {}),
          reason,
          retryAfterHours: RETRY_AFTER_HOURS,
        },
      });
    });
  }
}
