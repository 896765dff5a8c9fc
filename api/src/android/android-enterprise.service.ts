import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { androidmanagement_v1 } from 'googleapis';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { Ministry } from '../directory/ministry.entity';
import { AmapiClientService } from './amapi-client.service';
import { AndroidEnterprise } from './android-enterprise.entity';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { AndroidError, explainPushError } from './android.error';

type Enterprise = androidmanagement_v1.Schema$Enterprise;

/** What Google must send us for phones to be seen at all: their enrollment, and their status reports. */
export const REQUIRED_NOTIFICATION_TYPES = ['ENROLLMENT', 'STATUS_REPORT'] as const;

export type AndroidHealthProblemCode =
  | 'no-enterprise'
  | 'no-topic-configured'
  | 'no-topic'
  | 'other-topic'
  | 'notification-types-missing'
  | 'unpublished-policies'
  | 'unknown-devices'
  | 'google-unreachable';

export interface AndroidHealthProblem {
  code: AndroidHealthProblemCode;
  message: string;
}

/** What a ministry's Android set-up lacks, said in sentences IT can act on. */
export interface AndroidHealth {
  ministry: string;
  ok: boolean;
  enterpriseName: string | null;
  /** PUBSUB_TOPIC: the topic the service gives enterprises. */
  configuredTopic: string | null;
  /** The enterprise's topic as Google has it now (enterprises.get). */
  pubsubTopic: string | null;
  enabledNotificationTypes: string[];
  /** Policies of groups with phones that are not (or not in their current version) on Google's side. */
  unpublishedPolicies: { policy: string; error: string | null }[];
  /** The last status report received from one of the ministry's phones. */
  lastReportAt: Date | null;
  unknownDevices: number;
  problems: AndroidHealthProblem[];
}

/** Binds each ministry to its Android Enterprise: an existing one, or one created through Google's signup flow. */
@Injectable()
export class AndroidEnterpriseService {
  private readonly logger = new Logger('AndroidEnterprise');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ANDROID_SETTINGS) private readonly settings: AndroidSettings,
    private readonly amapi: AmapiClientService,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  async get(principal: Principal, ministry: string): Promise<AndroidEnterprise | null> {
    this.access.requireAccess(principal, 'device.read', ministry);
    return this.db.getRepository(AndroidEnterprise).findOneBy({ ministryCode: ministry });
  }

  /** An enterprise created elsewhere (Google's console, another tool): checked on Google's side, then bound. */
  async bind(principal: Principal, ministry: string, enterpriseName: string): Promise<AndroidEnterprise> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    await this.requireMinistry(ministry);
    if (!/^enterprises\/[A-Za-z0-9_-]+$/.test(enterpriseName)) {
      throw new AndroidError(
        'invalid-enterprise',
        'invalid',
        'The enterprise name must look like "enterprises/LC0123abcd".',
      );
    }
    const enterprise = await this.explain(() =>
      this.amapi.call('enterprises.get', (api, o) => api.enterprises.get({ name: enterpriseName }, o)),
    );
    // Refused before anything is changed on Google's side.
    await this.requireNotBoundElsewhere(enterpriseName, ministry);
    const notifications = await this.ensureNotifications(enterpriseName, enterprise);
    return this.save(principal, ministry, enterpriseName, enterprise.enterpriseDisplayName ?? null, notifications);
  }

  /**
   * Without a topic and the ENROLLMENT and STATUS_REPORT types, Google sends nothing: phones would
   * enroll unseen. The configured topic is set (other types enabled are kept); the change is audited
   * with the binding. Without a configured topic nothing can be set: the health page says so.
   */
  private async ensureNotifications(name: string, enterprise: Enterprise): Promise<Notifications> {
    const current: Notifications = {
      before: { topic: enterprise.pubsubTopic ?? null, types: enterprise.enabledNotificationTypes ?? [] },
      after: { topic: enterprise.pubsubTopic ?? null, types: enterprise.enabledNotificationTypes ?? [] },
      changed: false,
    };
    const topic = this.settings.pubsub.topic;
    if (!topic) {
      this.logger.warn(`${name} bound without PUBSUB_TOPIC: Google will send no enrollment nor status report`);
      return current;
    }
    const types = [...new Set([...current.before.types, ...REQUIRED_NOTIFICATION_TYPES])];
    if (current.before.topic === topic && types.length === current.before.types.length) return current;
    const patched = await this.explain(() =>
      this.amapi.call('enterprises.patch', (api, o) =>
        api.enterprises.patch(
          {
            name,
            updateMask: 'pubsubTopic,enabledNotificationTypes',
            requestBody: { pubsubTopic: topic, enabledNotificationTypes: types },
          },
          o,
        ),
      ),
    );
    return {
      before: current.before,
      after: { topic: patched.pubsubTopic ?? null, types: patched.enabledNotificationTypes ?? [] },
      changed: true,
    };
  }

  /** Step 1 of the signup flow: Google's signup URL for the ministry's administrator. */
  async startSignup(
    principal: Principal,
    ministry: string,
    callbackUrl: string,
  ): Promise<{ url: string; name: string }> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    const ministryRow = await this.requireMinistry(ministry);
    if (!this.settings.projectId)
      throw new AndroidError(
        'no-project',
        'unavailable',
        'GOOGLE_CLOUD_PROJECT is not configured: the signup flow needs the EMM project.',
      );
    // Google appends enterpriseToken to the callback; the ministry tells which signup it completes.
    const callback = new URL(callbackUrl);
    callback.searchParams.set('ministry', ministry);
    // The form is prefilled with the administrator's address, and only the ministry's domains are
    // accepted (Google: "If allowedDomains is non-empty then [adminEmail] must belong to one of" them).
    const allowedDomains = ministryRow.emailDomains;
    const adminEmail = principal.email && inDomains(principal.email, allowedDomains) ? principal.email : undefined;
    const signup = await this.explain(() =>
      this.amapi.call('signupUrls.create', (api, o) =>
        api.signupUrls.create(
          {
            projectId: this.settings.projectId,
            callbackUrl: callback.toString(),
            ...(adminEmail ? { adminEmail } : {}),
            ...(allowedDomains.length > 0 ? { allowedDomains } : {}),
          },
          o,
        ),
      ),
    );
    if (!signup.name || !signup.url)
      throw new AndroidError('bad-signup', 'unavailable', 'Google returned no signup URL.');
    const { name, url } = signup;
    await this.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO android_signup (name, ministry_code, url, created_by) VALUES ($1, $2, $3, $4)`, [
        name,
        ministry,
        url,
        actorOf(principal).label,
      ]);
      await this.audit.record(tx, actorOf(principal), {
        action: 'android.signup-started',
        entityType: 'ministry',
        entityId: ministry,
        ministry,
        after: { signup: name, adminEmail: adminEmail ?? null, allowedDomains },
      });
    });
    return { url, name };
  }

  /** Step 2: Google redirects back with an enterprise token; the enterprise is created and bound. */
  async completeSignup(
    principal: Principal,
    ministryCode: string,
    enterpriseToken: string,
  ): Promise<AndroidEnterprise> {
    const [signup] = (await this.db.query(
      `SELECT name, ministry_code FROM android_signup WHERE ministry_code = $1 AND completed_at IS NULL ORDER BY created_at DESC LIMIT 1`,
      [ministryCode],
    )) as { name: string; ministry_code: string }[];
    if (!signup)
      throw new AndroidError(
        'unknown-signup',
        'not-found',
        `No Android Enterprise signup is in progress for ministry "${ministryCode}".`,
      );
    if (!enterpriseToken)
      throw new AndroidError(
        'no-enterprise-token',
        'invalid',
        'Google did not return an enterprise token: the signup was not completed.',
      );
    const signupUrlName = signup.name;
    this.access.requireAccess(principal, 'device.manage', signup.ministry_code);
    const ministry = await this.requireMinistry(signup.ministry_code);
    const created = await this.explain(() =>
      this.amapi.call('enterprises.create', (api, o) =>
        api.enterprises.create(
          {
            projectId: this.settings.projectId,
            signupUrlName,
            enterpriseToken,
            // Without a topic Google sends no ENROLLMENT nor STATUS_REPORT notification.
            requestBody: this.settings.pubsub.topic
              ? {
                  enterpriseDisplayName: ministry.name,
                  pubsubTopic: this.settings.pubsub.topic,
                  enabledNotificationTypes: ['ENROLLMENT', 'STATUS_REPORT'],
                }
              : { enterpriseDisplayName: ministry.name },
          },
          o,
        ),
      ),
    );
    if (!created.name) throw new AndroidError('bad-enterprise', 'unavailable', 'Google returned no enterprise name.');
    await this.db.query(`UPDATE android_signup SET completed_at = now() WHERE name = $1`, [signupUrlName]);
    const notifications: Notifications = {
      before: { topic: null, types: [] },
      after: { topic: created.pubsubTopic ?? null, types: created.enabledNotificationTypes ?? [] },
      changed: Boolean(created.pubsubTopic),
    };
    return this.save(principal, signup.ministry_code, created.name, ministry.name, notifications);
  }

  private async save(
    principal: Principal,
    ministry: string,
    enterpriseName: string,
    displayName: string | null,
    notifications: Notifications,
  ): Promise<AndroidEnterprise> {
    await this.requireNotBoundElsewhere(enterpriseName, ministry);
    return this.db.transaction(async (tx) => {
      const before = await tx.getRepository(AndroidEnterprise).findOneBy({ ministryCode: ministry });
      await tx
        .query(
          `INSERT INTO android_enterprise (ministry_code, enterprise_name, display_name, created_by, pubsub_topic, notification_types)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (ministry_code) DO UPDATE SET enterprise_name = EXCLUDED.enterprise_name, display_name = EXCLUDED.display_name,
             pubsub_topic = EXCLUDED.pubsub_topic, notification_types = EXCLUDED.notification_types`,
          [
            ministry,
            enterpriseName,
            displayName,
            actorOf(principal).label,
            notifications.after.topic,
            notifications.after.types,
          ],
        )
        .catch((error: unknown) => {
          // Bound to another ministry meanwhile (enterprise_name is unique).
          if ((error as { driverError?: { code?: string } }).driverError?.code !== '23505') throw error;
          throw boundElsewhere(enterpriseName, 'another ministry');
        });
      // Another enterprise has none of the ministry's policies yet: publish them all again there.
      if (before && before.enterpriseName !== enterpriseName)
        await tx.query(
          `UPDATE policy_group SET shared_published_hash = NULL, shared_canary_hash = NULL WHERE ministry_code = $1`,
          [ministry],
        );
      await this.audit.record(tx, actorOf(principal), {
        action: 'android.enterprise-bound',
        entityType: 'ministry',
        entityId: ministry,
        ministry,
        before: before ? { enterprise: before.enterpriseName } : null,
        after: { enterprise: enterpriseName },
      });
      if (notifications.changed)
        await this.audit.record(tx, actorOf(principal), {
          action: 'android.enterprise-notifications-set',
          entityType: 'ministry',
          entityId: ministry,
          ministry,
          before: { enterprise: enterpriseName, ...notifications.before },
          after: { enterprise: enterpriseName, ...notifications.after },
        });
      return tx.getRepository(AndroidEnterprise).findOneByOrFail({ ministryCode: ministry });
    });
  }

  /** What is missing for the ministry's phones to be managed and seen; Google is asked, not our copy. */
  async health(principal: Principal, ministry: string): Promise<AndroidHealth> {
    this.access.requireAccess(principal, 'device.read', ministry);
    await this.requireMinistry(ministry);
    const configuredTopic = this.settings.pubsub.topic ?? null;
    const health: AndroidHealth = {
      ministry,
      ok: false,
      enterpriseName: null,
      configuredTopic,
      pubsubTopic: null,
      enabledNotificationTypes: [],
      unpublishedPolicies: [],
      lastReportAt: null,
      unknownDevices: 0,
      problems: [],
    };
    const problem = (code: AndroidHealthProblemCode, message: string): void => {
      health.problems.push({ code, message });
    };
    if (!configuredTopic)
      problem(
        'no-topic-configured',
        'PUBSUB_TOPIC is not configured: the service cannot give enterprises a Pub/Sub topic, so Google sends no enrollment nor status report.',
      );
    const binding = await this.db.getRepository(AndroidEnterprise).findOneBy({ ministryCode: ministry });
    if (!binding) {
      problem(
        'no-enterprise',
        `Ministry "${ministry}" is bound to no Android Enterprise: bind an existing one (PUT /ministries/${ministry}/android/enterprise) or sign one up.`,
      );
      return health;
    }
    const name = binding.enterpriseName;
    health.enterpriseName = name;
    try {
      const enterprise = await this.amapi.call('enterprises.get', (api, o) => api.enterprises.get({ name }, o));
      health.pubsubTopic = enterprise.pubsubTopic ?? null;
      health.enabledNotificationTypes = enterprise.enabledNotificationTypes ?? [];
      if (!health.pubsubTopic)
        problem(
          'no-topic',
          `The enterprise ${name} has no Pub/Sub topic on Google's side: Google sends no enrollment nor status report. Bind it again once PUBSUB_TOPIC is set.`,
        );
      else if (configuredTopic && health.pubsubTopic !== configuredTopic)
        problem(
          'other-topic',
          `The enterprise ${name} publishes to ${health.pubsubTopic}, not to the configured ${configuredTopic}: this service does not receive its notifications. Bind it again to fix it.`,
        );
      const missing = REQUIRED_NOTIFICATION_TYPES.filter((t) => !health.enabledNotificationTypes.includes(t));
      if (missing.length > 0)
        problem(
          'notification-types-missing',
          `Notification types ${missing.join(' and ')} are not enabled on ${name}: ${missing.includes('ENROLLMENT') ? 'new phones are not seen' : 'compliance is not reported'} until the enterprise is bound again.`,
        );
    } catch (e) {
      problem('google-unreachable', `Google could not be asked about ${name}: ${(e as Error).message}`);
    }
    // Groups with phones of this ministry whose current content is not on Google's side.
    health.unpublishedPolicies = (
      (await this.db.query(
        `SELECT g.id AS policy, e.message AS error
           FROM policy_group g
           LEFT JOIN android_publish_error e ON e.enterprise_name = $2 AND e.policy_name = g.id
          WHERE g.ministry_code = $1
            AND (g.shared_published_hash IS DISTINCT FROM g.desired_hash OR e.message IS NOT NULL)
            AND EXISTS (SELECT 1 FROM device d WHERE d.group_id = g.id AND d.platform = 'android' AND d.unenrolled_at IS NULL)
          ORDER BY g.id`,
        [ministry, name],
      )) as { policy: string; error: string | null }[]
    ).map((r) => ({ policy: r.policy, error: r.error }));
    if (health.unpublishedPolicies.length > 0)
      problem(
        'unpublished-policies',
        `${health.unpublishedPolicies.length} policy(ies) with phones are not published on Google's side: ${health.unpublishedPolicies
          .map((p) => (p.error ? `${p.policy} (${p.error})` : p.policy))
          .join('; ')}.`,
      );
    const [stats] = (await this.db.query(
      `SELECT (SELECT max(reported_at) FROM device WHERE ministry_code = $1 AND platform = 'android' AND android_device_name LIKE $2) AS last_report,
              (SELECT count(*)::int FROM android_unknown_device WHERE ministry_code = $1) AS unknown`,
      [ministry, `${name}/devices/%`],
    )) as { last_report: Date | null; unknown: number }[];
    health.lastReportAt = stats.last_report;
    health.unknownDevices = stats.unknown;
    if (stats.unknown > 0)
      problem(
        'unknown-devices',
        `${stats.unknown} phone(s) listed by Google were not enrolled with one of this service's tokens: see GET /ministries/${ministry}/android/unknown-devices.`,
      );
    health.ok = health.problems.length === 0;
    return health;
  }

  private async requireNotBoundElsewhere(enterpriseName: string, ministry: string): Promise<void> {
    const [other] = (await this.db.query(
      `SELECT ministry_code FROM android_enterprise WHERE enterprise_name = $1 AND ministry_code <> $2`,
      [enterpriseName, ministry],
    )) as { ministry_code: string }[];
    if (other) throw boundElsewhere(enterpriseName, other.ministry_code);
  }

  private explain<T>(run: () => Promise<T>): Promise<T> {
    return explainPushError(run, { code: 'google-refused', kind: 'invalid' });
  }

  private async requireMinistry(code: string): Promise<Ministry> {
    const ministry = await this.db.getRepository(Ministry).findOneBy({ code });
    if (!ministry) throw new AndroidError('unknown-ministry', 'not-found', `Unknown ministry "${code}".`);
    return ministry;
  }
}

interface Notifications {
  before: { topic: string | null; types: string[] };
  after: { topic: string | null; types: string[] };
  changed: boolean;
}

function inDomains(email: string, domains: string[]): boolean {
  const domain = email.split('@').pop()?.toLowerCase() ?? '';
  return domains.length === 0 || domains.some((d) => d.toLowerCase() === domain);
}

function boundElsewhere(enterpriseName: string, other: string): AndroidError {
  return new AndroidError(
    'enterprise-bound-elsewhere',
    'conflict',
    `The enterprise "${enterpriseName}" is already bound to ministry "${other}": an enterprise serves one ministry only.`,
    { enterpriseName, ministry: other },
  );
}
