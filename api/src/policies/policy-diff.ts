import { canonicalJson } from '../common/canonical-hash';
import { PolicyContent, PolicyRule } from './policy.types';

export interface PolicyDiff {
  mode?: { from: string; to: string };
  personalSide?: { from: string; to: string };
  description?: { from: string | null; to: string | null };
  added: PolicyRule[];
  removed: PolicyRule[];
  changed: { app: string; from: PolicyRule; to: PolicyRule }[];
}

/** Rule-level difference between two contents of one scope, keyed by app. */
export function diffPolicies(from: PolicyContent, to: PolicyContent): PolicyDiff {
  const a = new Map(from.rules.map((r) => [r.app, r]));
  const b = new Map(to.rules.map((r) => [r.app, r]));
  const diff: PolicyDiff = {
    added: to.rules.filter((r) => !a.has(r.app)),
    removed: from.rules.filter((r) => !b.has(r.app)),
    changed: to.rules
      .filter((r) => a.has(r.app) && canonicalJson(a.get(r.app)) !== canonicalJson(r))
      .map((r) => ({ app: r.app, from: a.get(r.app) as PolicyRule, to: r })),
  };
  if (from.mode !== to.mode) diff.mode = { from: from.mode, to: to.mode };
  const [sideFrom, sideTo] = [personalSideOf(from), personalSideOf(to)];
  if (sideFrom !== sideTo) diff.personalSide = { from: sideFrom, to: sideTo };
  if ((from.description ?? null) !== (to.description ?? null)) diff.description = { from: from.description ?? null, to: to.description ?? null };
  return diff;
}

/** The personal side of company-owned phones as a policy states it ('blocklist' for a blocklist). */
export function personalSideOf(content: PolicyContent): string {
  return content.mode === 'allowlist' ? (content.personalSide ?? 'allowlist') : 'blocklist';
}
