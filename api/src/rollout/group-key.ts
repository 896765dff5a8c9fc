import { sha256Hex } from '../common/canonical-hash';

/**
 * Stable name of the group of devices of `ministry` whose agents hold exemptions for `apps`:
 * the ministry code alone for the common case, plus a short hash of the sorted apps otherwise.
 * On Android it is also the name of the group's policy, so it must never change for a given set.
 */
export function groupId(ministry: string, apps: readonly string[]): string {
  const sorted = [...new Set(apps)].sort();
  return sorted.length === 0 ? ministry : `${ministry}--${sha256Hex(sorted.join(',')).slice(0, 12)}`;
}
