import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/principal';
import { PushError } from '../rollout/platform-adapter';
import { AmapiClientService } from './amapi-client.service';

const HYGIENE: Actor = { id: null, label: 'system: Android policy hygiene' };

/** A policy must have been seen unused this long before it is deleted (a device may be on its way to it). */
export const DEFAULT_GRACE_MS = 60 * 60_000;

export interface HygieneSummary {
  /** Deleted on Google's side in this run (or found already gone). */
  deleted: string[];
  /** Google refused: a device still references it; tried again later. */
  stillReferenced: string[];
  /** Unused, waiting for the grace period or the next attempt. */
  waiting: number;
}

interface UnusedRow {
  enterprise_name: string;
  policy_name: string;
  group_id: string | null;
  ministry_code: string;
  canary: boolean;
}

/**
 * Deletes the AMAPI policies no group uses any more, so that an enterprise does not pile up
 * canary variants and the policies of exemption groups long emptied. A published policy
 * (android_policy_publication) is unused when no enrolled device of ours is attached to it, and:
 * - its group no longer exists; or
 * - it is a canary variant and no rollout of its group is preparing, paused or running an early
 *   stage (the final stage sends every device back to the stable policy); or
 * - it is the stable policy of an exemption group without enrolled Android devices. The ministry's
 *   own group is never a candidate: its enrollment tokens name its policy.
 * Before the call the group forgets it published the policy, so that the engine publishes it
 * again if a device is sent there later. Google refuses to delete a policy a device references
 * (FAILED_PRECONDITION: a phone we do not know of, or one not yet moved on Google's side): it is
 * tried again later, with a growing delay. Each deletion is audited.
 */
@Injectable()
export class AndroidPolicyHygieneService {
  private readonly logger = new Logger('AndroidPolicyHygiene');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly amapi: AmapiClientService,
    private readonly audit: AuditService,
  ) {}

  async run(opts: { graceMs?: number } = {}): Promise<HygieneSummary> {
    const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    const summary: HygieneSummary = { deleted: [], stillReferenced: [], waiting: 0 };
    const unused = await this.unused(this.db.manager);
    const keys = unused.map((u) => `${u.enterprise_name}/policies/${u.policy_name}`);
    // Used again (a device came back to it): no longer on its way out.
    await this.db.query(
      `DELETE FROM android_policy_cleanup WHERE deleted_at IS NULL AND NOT (enterprise_name || '/policies/' || policy_name = ANY($1))`,
      [keys],
    );
    for (const policy of unused) {
      // First seen unused, or published again since its deletion: the grace period starts now.
      const [state] = (await this.db.query(
        `INSERT INTO android_policy_cleanup AS c (enterprise_name, policy_name, next_attempt_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (enterprise_name, policy_name) DO UPDATE
           SET unused_since = now(), attempts = 0, last_error = NULL, deleted_at = NULL, next_attempt_at = EXCLUDED.next_attempt_at
           WHERE c.deleted_at IS NOT NULL
         RETURNING next_attempt_at <= now() AS due`,
        [policy.enterprise_name, policy.policy_name, graceMs / 1000],
      )) as { due: boolean }[];
      const due =
        state?.due ??
        (
          (await this.db.query(
            `SELECT next_attempt_at <= now() AS due FROM android_policy_cleanup WHERE enterprise_name = $1 AND policy_name = $2`,
            [policy.enterprise_name, policy.policy_name],
          )) as { due: boolean }[]
        )[0]?.due;
      if (!due) {
        summary.waiting++;
        continue;
      }
      const outcome = await this.delete(policy);
      if (outcome === 'deleted') summary.deleted.push(`${policy.enterprise_name}/policies/${policy.policy_name}`);
      else if (outcome === 'referenced')
        summary.stillReferenced.push(`${policy.enterprise_name}/policies/${policy.policy_name}`);
      else summary.waiting++;
    }
    if (summary.deleted.length || summary.stillReferenced.length)
      this.logger.log(
        `policies deleted: ${summary.deleted.length}, still referenced on Google's side: ${summary.stillReferenced.length}`,
      );
    return summary;
  }

  private async delete(policy: UnusedRow): Promise<'deleted' | 'referenced' | 'failed' | 'used'> {
    const name = `${policy.enterprise_name}/policies/${policy.policy_name}`;
    // Checked again with the group locked: a device moved into the group meanwhile keeps its policy.
    const stillUnused = await this.db.transaction(async (tx) => {
      if (policy.group_id) await tx.query(`SELECT 1 FROM policy_group WHERE id = $1 FOR UPDATE`, [policy.group_id]);
      const again = await this.unused(tx, policy);
      if (again.length === 0) return false;
      if (policy.group_id)
        await tx.query(
          `UPDATE policy_group SET ${policy.canary ? 'shared_canary_hash' : 'shared_published_hash'} = NULL WHERE id = $1`,
          [policy.group_id],
        );
      return true;
    });
    if (!stillUnused) return 'used';
    let outcome: 'deleted' | 'gone' | 'referenced';
    try {
      outcome = await this.amapi.call('policies.delete', async (api, options) => {
        try {
          await api.enterprises.policies.delete({ name }, options);
          return { data: 'deleted' as const };
        } catch (e) {
          const error = googleError(e);
          if (error.status === 404) return { data: 'gone' as const };
          // "Only permitted if no devices are currently referencing the policy."
          if (error.status === 400 && error.reason === 'FAILED_PRECONDITION') return { data: 'referenced' as const };
          throw e;
        }
      });
    } catch (e) {
      if (!(e instanceof PushError)) throw e;
      await this.postpone(policy, e.message);
      return 'failed';
    }
    if (outcome === 'referenced') {
      await this.postpone(policy, 'a device still references this policy on Google’s side (FAILED_PRECONDITION)');
      return 'referenced';
    }
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE android_policy_cleanup SET deleted_at = now(), attempts = attempts + 1, last_error = NULL
          WHERE enterprise_name = $1 AND policy_name = $2`,
        [policy.enterprise_name, policy.policy_name],
      );
      await this.audit.record(tx, HYGIENE, {
        action: 'android.policy-deleted',
        entityType: 'android-policy',
        entityId: name,
        ministry: policy.ministry_code,
        after: {
          group: policy.group_id,
          variant: policy.canary ? 'canary' : 'stable',
          alreadyGone: outcome === 'gone',
        },
      });
    });
    return 'deleted';
  }

  /** Tried again after 15 min, 30 min, 1 h … at most a day. */
  private async postpone(policy: UnusedRow, error: string): Promise<void> {
    await this.db.query(
      `UPDATE android_policy_cleanup
          SET attempts = attempts + 1, last_error = $3,
              next_attempt_at = now() + least(interval '1 day', interval '15 minutes' * power(2, attempts))
        WHERE enterprise_name = $1 AND policy_name = $2`,
      [policy.enterprise_name, policy.policy_name, error],
    );
  }

  /** The published policies nothing of ours uses (all of them, or just `only`). */
  private async unused(tx: EntityManager, only?: UnusedRow): Promise<UnusedRow[]> {
    return (await tx.query(
      `WITH published AS (
         SELECT p.enterprise_name, p.policy_name, max(p.published_at) AS last_published
           FROM android_policy_publication p
          WHERE $1::text IS NULL OR (p.enterprise_name = $1 AND p.policy_name = $2::text)
          GROUP BY 1, 2)
       SELECT p.enterprise_name, p.policy_name, g.id AS group_id, e.ministry_code, p.policy_name LIKE '%.canary' AS canary
         FROM published p
         JOIN android_enterprise e ON e.enterprise_name = p.enterprise_name
         LEFT JOIN android_policy_cleanup c ON c.enterprise_name = p.enterprise_name AND c.policy_name = p.policy_name
         LEFT JOIN policy_group g ON g.id = regexp_replace(p.policy_name, '\\.canary$', '')
        WHERE (c.deleted_at IS NULL OR c.deleted_at < p.last_published)
          AND NOT EXISTS (SELECT 1 FROM device d
                           WHERE d.platform = 'android' AND d.unenrolled_at IS NULL
                             AND d.bound_policy IN (p.policy_name, p.enterprise_name || '/policies/' || p.policy_name))
          AND (g.id IS NULL
               OR (p.policy_name LIKE '%.canary'
                   AND NOT EXISTS (SELECT 1 FROM rollout_group rg JOIN rollout r ON r.id = rg.rollout_id
                                    WHERE rg.group_id = g.id AND r.status IN ('preparing', 'running', 'paused')
                                      AND NOT (r.status = 'running' AND r.stage_index = array_length(r.stages, 1) - 1)))
               OR (p.policy_name NOT LIKE '%.canary' AND g.exempted_apps <> '{}'
                   AND NOT EXISTS (SELECT 1 FROM device d
                                    WHERE d.group_id = g.id AND d.platform = 'android' AND d.unenrolled_at IS NULL)))
        ORDER BY p.enterprise_name, p.policy_name`,
      [only?.enterprise_name ?? null, only?.policy_name ?? null],
    )) as UnusedRow[];
  }
}

/** The HTTP status and Google's canonical error status (FAILED_PRECONDITION…) of a googleapis error. */
function googleError(e: unknown): { status?: number; reason?: string } {
  const error = e as {
    status?: unknown;
    response?: { status?: number; data?: { error?: { status?: string } } };
  };
  return {
    status: error.response?.status ?? (typeof error.status === 'number' ? error.status : undefined),
    reason: error.response?.data?.error?.status,
  };
}
