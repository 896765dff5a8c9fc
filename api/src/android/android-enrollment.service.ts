import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { Agent } from '../directory/agent.entity';
import { PolicyGroupService } from '../rollout/policy-group.service';
import { RolloutEngine } from '../rollout/rollout-engine.service';
import { AmapiClientService } from './amapi-client.service';
import { AndroidAdapter } from './android.adapter';
import { AndroidError, explainPushError } from './android.error';

import { enrollmentLinkOf, type EnrollmentTokenView, type PersonalUsage } from './android-enrollment.view';

const PERSONAL_USAGE: Record<PersonalUsage, string> = {
  allowed: 'PERSONAL_USAGE_ALLOWED',
  disallowed: 'PERSONAL_USAGE_DISALLOWED',
  dedicated: 'PERSONAL_USAGE_DISALLOWED_USERLESS',
};

/** Enrollment tokens per ministry (optionally for one agent), created on Google's side. */
@Injectable()
export class AndroidEnrollmentService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly amapi: AmapiClientService,
    private readonly android: AndroidAdapter,
    private readonly groups: PolicyGroupService,
    private readonly engine: RolloutEngine,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  async create(
    principal: Principal,
    ministry: string,
    opts: { agentId?: string; durationMinutes: number; personalUsage?: PersonalUsage; oneTimeOnly: boolean },
  ): Promise<EnrollmentTokenView> {
    this.access.requireAccess(principal, 'device.manage', ministry);
    let agent: Agent | null = null;
    if (opts.agentId) {
      agent = await this.db.getRepository(Agent).findOneBy({ id: opts.agentId });
      if (!agent || agent.ministryCode !== ministry)
        throw new AndroidError('unknown-agent', 'not-found', `No agent "${opts.agentId}" in ministry "${ministry}".`);
    }
    const enterprise = await this.explain(() => this.android.enterpriseOf(ministry));
    // The phone enrolls straight into its ministry's policy: it must exist on Google's side.
    const group = await this.db.transaction((tx) => this.groups.ensureGroup(tx, ministry, []));
    // A ministry whose policy disallows personal use enrolls fully managed phones only (no personal side, no BYOD).
    const disallowed = group.effective.personalSide === 'disallowed';
    const personalUsage: PersonalUsage = opts.personalUsage ?? (disallowed ? 'disallowed' : 'allowed');
    if (disallowed && personalUsage === 'allowed')
      throw new AndroidError(
        'personal-use-disallowed',
        'conflict',
        `The policy of ministry "${ministry}" disallows personal use of its phones (personalSide: disallowed): create a token with personalUsage "disallowed" or "dedicated".`,
      );
    await this.explain(() => this.engine.ensurePublished(group.id));
    // A refused publish leaves no policy on Google's side: say why, not Google's later "Policy … not found".
    const refused = await this.android.refusalOf(ministry, group.id);
    if (refused)
      throw new AndroidError(
        'google-refused',
        'invalid',
        `No phone can enroll in ministry "${ministry}" yet: Google refused its policy (${refused}). Fix the cause, then publish again.`,
      );
    const token = await this.explain(() =>
      this.amapi.call('enrollmentTokens.create', (api, o) =>
        api.enterprises.enrollmentTokens.create(
          {
            parent: enterprise,
            requestBody: {
              policyName: `${enterprise}/policies/${group.id}`,
              duration: `${Math.round(opts.durationMinutes * 60)}s`,
              additionalData: JSON.stringify({ ministry, agentId: agent?.id ?? null }),
              allowPersonalUsage: PERSONAL_USAGE[personalUsage],
              oneTimeOnly: opts.oneTimeOnly,
            },
          },
          o,
        ),
      ),
    );
    if (!token.name || !token.value)
      throw new AndroidError('bad-token', 'unavailable', 'Google returned no enrollment token.');
    const expiresAt = token.expirationTimestamp ?? new Date(Date.now() + opts.durationMinutes * 60_000).toISOString();
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO android_enrollment_token (name, ministry_code, agent_id, personal_usage, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
        [token.name, ministry, agent?.id ?? null, personalUsage, expiresAt, actorOf(principal).label],
      );
      await this.audit.record(tx, actorOf(principal), {
        action: 'android.enrollment-token-created',
        entityType: 'ministry',
        entityId: ministry,
        ministry,
        after: { token: token.name, agent: agent?.email ?? null, personalUsage, expiresAt },
      });
    });
    return {
      name: token.name,
      ministry,
      agent: agent ? { id: agent.id, email: agent.email } : null,
      personalUsage,
      expiresAt,
      qrCode: token.qrCode ?? '',
      value: token.value,
      // Only a token that allows personal usage can enroll a personally owned phone.
      enrollmentLink: personalUsage === 'allowed' ? enrollmentLinkOf(token.value) : null,
    };
  }

  private explain<T>(run: () => Promise<T>): Promise<T> {
    return explainPushError(run, { code: 'not-ready', kind: 'conflict' });
  }
}
