import { PolicyContent, PolicyRule } from './policy.types';

export interface PolicyConflict {
  app: string;
  ministryRuleIndex: number;
  nationalRuleIndex: number;
  message: string;
}

function describe(rule: PolicyRule): string {
  const exemption = rule.exemptable
    ? `exemptable up to ${rule.maxExemptionDays} days`
    : 'not exemptable';
  return `${rule.action} "${rule.app}" (${exemption})`;
}

/**
 * A ministry may add blocks and requirements on top of the baseline and tighten a national block,
 * but never allow, require or loosen what the baseline blocks, nor block what it requires:
 * only an exemption lifts a national block, for one agent, until it expires.
 */
export function findConflicts(
  national: PolicyContent,
  ministry: PolicyContent,
  ministryCode: string,
): PolicyConflict[] {
  const nationalByApp = new Map<string, { rule: PolicyRule; index: number }>();
  national.rules.forEach((rule, index) => nationalByApp.set(rule.app, { rule, index }));
  const conflicts: PolicyConflict[] = [];

  ministry.rules.forEach((rule, ministryRuleIndex) => {
    const base = nationalByApp.get(rule.app);
    if (!base) return;
    const nat = base.rule;
    let why: string | undefined;
    if (nat.action === 'block' && rule.action !== 'block') {
      why = 'a ministry may not allow or require what the national baseline blocks; only an exemption can lift it';
    } else if (nat.action === 'block' && rule.action === 'block') {
      if (rule.exemptable && !nat.exemptable) {
        why = 'it makes exemptable a block the national baseline declares not exemptable';
      } else if (
        rule.exemptable &&
        nat.exemptable &&
        (rule.maxExemptionDays ?? 0) > (nat.maxExemptionDays ?? 0)
      ) {
        why = `it allows exemptions of ${rule.maxExemptionDays} days where the national baseline allows at most ${nat.maxExemptionDays}`;
      }
    } else if (nat.action === 'require' && rule.action === 'block') {
      why = 'a ministry may not block an app the national baseline requires';
    }
    if (why) {
      conflicts.push({
        app: rule.app,
        ministryRuleIndex,
        nationalRuleIndex: base.index,
        message:
          `ministry "${ministryCode}" rule #${ministryRuleIndex + 1} (${describe(rule)}) conflicts with ` +
          `national rule #${base.index + 1} (${describe(nat)}): ${why}`,
      });
    }
  });
  return conflicts;
}
