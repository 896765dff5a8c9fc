/**
 * How many identity renewals one run queues: enough that, at this pace, each due identity is
 * renewed by half its remaining time (`needed`, per run, from the soonest-first ranking), at least
 * one while any is due, never more than `max` (each costs a key generation) nor than are due.
 */
export function renewalsThisRun(needed: number, due: number, max: number): number {
  if (due <= 0 || max <= 0) return 0;
  const pace = Number.isFinite(needed) && needed > 0 ? Math.ceil(needed) : 1;
  return Math.min(due, max, pace);
}
