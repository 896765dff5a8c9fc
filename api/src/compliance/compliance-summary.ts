import type { Platform } from '../devices/platforms';
import type { ComplianceState } from './compliance-evaluator';

/** One row of the read model: how many enrolled phones share these values. */
export interface TallyRow {
  ministry: string;
  platform: Platform;
  state: ComplianceState;
  /** The OS major version ("17", "14"), '' when not reported. */
  osMajor: string;
  /** At least one banned (non-exempted) app installed at the last report. */
  carriesBanned: boolean;
  phones: number;
}

export interface ComplianceCounts {
  phones: number;
  compliant: number;
  nonCompliant: number;
  /** Never reported (or not enough yet): never counted as compliant. */
  unknown: number;
  /** No report for more than the stale limit. */
  stale: number;
  /** compliant / phones, in percent with one decimal; null without phones. */
  compliantPercent: number | null;
  /** Phones with at least one banned app installed at their last report. */
  withBannedApps: number;
}

const KEY: Record<ComplianceState, 'compliant' | 'nonCompliant' | 'unknown' | 'stale'> = {
  compliant: 'compliant',
  'non-compliant': 'nonCompliant',
  unknown: 'unknown',
  stale: 'stale',
};

/** Adds rows up. Pure: only rows in state `compliant` count as compliant. */
export function countsOf(rows: readonly TallyRow[]): ComplianceCounts {
  const c = { phones: 0, compliant: 0, nonCompliant: 0, unknown: 0, stale: 0, withBannedApps: 0 };
  for (const row of rows) {
    c.phones += row.phones;
    c[KEY[row.state]] += row.phones;
    if (row.carriesBanned) c.withBannedApps += row.phones;
  }
  return { ...c, compliantPercent: c.phones > 0 ? Math.round((c.compliant * 1000) / c.phones) / 10 : null };
}

/** Rows grouped by a key, each group added up, in key order. */
export function countsBy<R extends TallyRow, K extends string>(
  rows: readonly R[],
  key: (row: R) => K,
): { key: K; counts: ComplianceCounts }[] {
  const groups = new Map<K, R[]>();
  for (const row of rows) {
    const k = key(row);
    const list = groups.get(k);
    if (list) list.push(row);
    else groups.set(k, [row]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, list]) => ({ key: k, counts: countsOf(list) }));
}
