import { foldedSql } from '../common/keyset-cursor';

/**
 * The shared predicates on devices, defined once as SQL fragments. Each takes the aliases (or
 * parameter placeholders) of the query it goes into, so that every query says the same thing.
 */
export const fleetSql = {
  /**
   * An exemption that lifts a block now: approved, not expired, agent-wide or for this device.
   * `device` is the device's id column, or null for the agent-wide ones only.
   */
  activeExemption(e: string, agent: string, device: string | null): string {
    return `${e}.agent_id = ${agent} AND ${e}.status = 'approved' AND ${e}.valid_until > now() AND (${e}.device_id IS NULL${
      device === null ? '' : ` OR ${e}.device_id = ${device}`
    })`;
  },

  /** An approved exemption still running (the register of active exemptions). */
  exemptionActive(e: string): string {
    return `${e}.status = 'approved' AND ${e}.valid_until > now()`;
  },

  /** The device applied the policy it should have (`hash`: the group's desired hash, or a rollout's target). */
  converged(d: string, hash: string): string {
    return `${d}.applied_hash = ${hash}`;
  },

  notConverged(d: string, hash: string): string {
    return `${d}.applied_hash IS DISTINCT FROM ${hash}`;
  },

  /** Still enrolled: the platform can reach it, it counts in the fleet. */
  reachable(d: string): string {
    return `${d}.unenrolled_at IS NULL`;
  },

  /** Failed for good (after every retry, or refused by the platform) and not converged. */
  failed(d: string, hash: string): string {
    return `${d}.push_state = 'failed' AND ${d}.applied_hash IS DISTINCT FROM ${hash}`;
  },

  /**
   * Not applied yet, and nothing wrong on our side (sent, or already on its policy): waiting for the
   * phone, which may be switched off. Never a failure; `last_seen_at` says since when it is silent.
   */
  waiting(d: string, hash: string): string {
    return `${d}.push_state NOT IN ('failed', 'retrying') AND ${d}.applied_hash IS DISTINCT FROM ${hash}`;
  },

  /** Reported once, but not for more than `days` days. */
  stale(d: string, days: string): string {
    return `${d}.reported_at < now() - make_interval(days => ${days})`;
  },

  /**
   * The ids of `ministry`'s devices whose name, model, Android name, UDID or serial, or whose agent's
   * address or name, folded (foldedSql), is LIKE `pattern` (foldedPattern of the search). A UNION, not
   * one OR across device and agent: each branch is answered from its own trigram indexes
   * (ListSearchIndexes, DeviceSearchIndexes), where the OR read every phone of the ministry.
   */
  searchedDeviceIds(ministry: string, pattern: string): string {
    const like = (expr: string) => `${foldedSql(expr)} LIKE ${pattern}`;
    return `(SELECT s.id FROM device s WHERE s.ministry_code = ${ministry}
               AND (${like('s.display_name')} OR ${like('s.model')} OR ${like('s.android_device_name')}
                    OR ${like('s.apple_udid')} OR ${like('s.apple_identity_serial')})
             UNION
             SELECT s.id FROM agent a JOIN device s ON s.agent_id = a.id
              WHERE s.ministry_code = ${ministry} AND (${like('a.email')} OR ${like(`a.given_name || ' ' || a.usual_name`)}))`;
  },

  /**
   * The rollout counters (see the ComplianceReadModel migration) of the enrolled devices matching
   * `where` (on columns ministry_code, group_id, platform, band, applied_hash, push_failed,
   * non_compliant), as a subquery of rows to add up with sum(n): the folded counters and the deltas
   * not folded yet. `applied_hash` is '' for none, `group_id` '' for no group.
   */
  rolloutCounts(where: string): string {
    return `(SELECT ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, n FROM rollout_tally WHERE ${where}
             UNION ALL
             SELECT ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, n FROM rollout_tally_delta WHERE ${where})`;
  },
} as const;

/** The same `converged` in TypeScript, for rows already read. */
export function isConverged(appliedHash: string | null, desiredHash: string | null): boolean {
  return desiredHash !== null && appliedHash === desiredHash;
}

/** Where a device's desired policy is: applied, with the phone, being retried, or failed for good. */
export type Delivery = 'converged' | 'waiting' | 'retrying' | 'failed';

/** The same states as fleetSql (converged, waiting, failed) for a row already read. */
export function deliveryOf(pushState: 'ok' | 'retrying' | 'failed', converged: boolean): Delivery {
  // Failed first: a phone can apply a policy and report what it could not apply of it.
  if (pushState === 'failed') return 'failed';
  if (converged) return 'converged';
  return pushState === 'ok' ? 'waiting' : pushState;
}
