import { PolicyError } from './policy.error';
import type { RolloutRequest } from './policy-version-writer.service';

/** Checks staged-rollout options from the API or the CLI: increasing percentages ending at 100. */
export function rolloutRequest(stages: number[] | undefined, waitMinutes: number | undefined): RolloutRequest | undefined {
  if (!stages && waitMinutes === undefined) return undefined;
  const list = stages ?? [100];
  const increasing = list.every((p, i) => Number.isInteger(p) && p >= 1 && p <= 100 && (i === 0 || p > list[i - 1]));
  if (!increasing || list[list.length - 1] !== 100) {
    throw new PolicyError('invalid-stages', 'invalid', `Stages must be increasing percentages of devices ending at 100, such as 1, 10, 100 (got ${list.join(', ')}).`);
  }
  return { stages: list, stageWaitSeconds: Math.round((waitMinutes ?? 0) * 60) };
}
