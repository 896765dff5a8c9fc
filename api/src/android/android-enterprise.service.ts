import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { Ministry } from '../directory/ministry.entity';
import { AmapiClientService } from './amapi-client.service';
import { AndroidEnterprise } from './android-enterprise.entity';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { AndroidError, explainPushError } from './android.error';

/** Binds each ministry to its Android Enterprise: an existing one, or one created through Google's signup flow. */
@Injectable()
export class AndroidEnterpriseService {
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
    return this.save(principal, ministry, enterpriseName, enterprise.enterpriseDisplayName ?? null);
  }

  /** Step 1 of the signup flow: Google's signup URL for the ministry's administrator. */
  async startSignup(
    principal: Principal,
    ministry: string,
    callbackUrl: string,
  ): Promise<{ url: string; name: string }> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    await this.requireMinistry(ministry);
    if (!this.settings.projectId)
      throw new AndroidError(
        'no-project',
        'unavailable',
        'GOOGLE_CLOUD_PROJECT is not configured: the signup flow needs the EMM project.',
      );
    // Google appends enterpriseToken to the callback; the ministry tells which signup it completes.
    const callback = new URL(callbackUrl);
    callback.searchParams.set('ministry', ministry);
    const signup = await this.explain(() =>
      this.amapi.call('signupUrls.create', (api, o) =>
        api.signupUrls.create({ projectId: this.settings.projectId, callbackUrl: callback.toString() }, o),
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
        after: { signup: name },
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
    return this.save(principal, signup.ministry_code, created.name, ministry.name);
  }

  private async save(
    principal: Principal,
    ministry: string,
    enterpriseName: string,
    displayName: string | null,
  ): Promise<AndroidEnterprise> {
    const boundElsewhere = (other: string) =>
      new AndroidError(
        'enterprise-bound-elsewhere',
        'conflict',
        `The enterprise "${enterpriseName}" is already bound to ministry "${other}": an enterprise serves one ministry only.`,
        { enterpriseName, ministry: other },
      );
    const [other] = (await this.db.query(
      `SELECT ministry_code FROM android_enterprise WHERE enterprise_name = $1 AND ministry_code <> $2`,
      [enterpriseName, ministry],
    )) as { ministry_code: string }[];
    if (other) throw boundElsewhere(other.ministry_code);
    return this.db.transaction(async (tx) => {
      const before = await tx.getRepository(AndroidEnterprise).findOneBy({ ministryCode: ministry });
      await tx
        .query(
          `INSERT INTO android_enterprise (ministry_code, enterprise_name, display_name, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (ministry_code) DO UPDATE SET enterprise_name = EXCLUDED.enterprise_name, display_name = EXCLUDED.display_name`,
          [ministry, enterpriseName, displayName, actorOf(principal).label],
        )
        .catch((error: unknown) => {
          // Bound to another ministry meanwhile (enterprise_name is unique).
          if ((error as { driverError?: { code?: string } }).driverError?.code !== '23505') throw error;
          throw boundElsewhere('another ministry');
        });
      await this.audit.record(tx, actorOf(principal), {
        action: 'android.enterprise-bound',
        entityType: 'ministry',
        entityId: ministry,
        ministry,
        before: before ? { enterprise: before.enterpriseName } : null,
        after: { enterprise: enterpriseName },
      });
      return tx.getRepository(AndroidEnterprise).findOneByOrFail({ ministryCode: ministry });
    });
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
