import type { androidmanagement_v1 } from 'googleapis';
import type { Ownership } from '../devices/device.entity';

export type NonComplianceDetail = androidmanagement_v1.Schema$NonComplianceDetail;

/**
 * Reasons that are never a violation of their own:
 * - PENDING: the phone has not applied the setting yet (it will);
 * - APP_INSTALLED / APP_NOT_INSTALLED: a banned app present or a required one missing is judged
 *   from the inventory, in the same words as on an iPhone.
 */
const NOT_A_VIOLATION = new Set(['PENDING', 'APP_INSTALLED', 'APP_NOT_INSTALLED']);

/**
 * Whether AMAPI's non-compliance detail makes the phone non-compliant. On a personally owned
 * phone the policy governs the work profile only: a setting meant for the whole device or the
 * personal side of a company-owned phone (personalUsagePolicies, sent to every phone of a group)
 * comes back as MANAGEMENT_MODE, which says "not applicable here", not "the agent got round it".
 */
export function isViolation(detail: NonComplianceDetail, ownership: Ownership): boolean {
  if (NOT_A_VIOLATION.has(detail.nonComplianceReason ?? '')) return false;
  return appliesTo(detail, ownership);
}

/** False for a setting the phone's management mode puts out of the policy's reach (nothing failed there). */
export function appliesTo(detail: NonComplianceDetail, ownership: Ownership): boolean {
  return !(detail.nonComplianceReason === 'MANAGEMENT_MODE' && ownership === 'personal');
}

/** What the phone could not apply, one sentence per setting (and app), violations only. */
export function policyErrorsOf(details: readonly NonComplianceDetail[] | undefined, ownership: Ownership): string[] {
  const errors = (details ?? [])
    .filter((d) => isViolation(d, ownership))
    .map((d) => `${d.settingName ?? 'policy'}${d.packageName ? ` (${d.packageName})` : ''}: ${d.nonComplianceReason}`);
  return [...new Set(errors)];
}
