/**
 * The one compliance rule, for every platform: a pure function of what the phone last reported
 * (facts) and what its effective policy bans or requires (apps, with this platform's identifiers).
 * It never looks at the platform: the same facts give the same state and the same reason texts on
 * an Android phone and on an iPhone. Plain types only (shared with the admin interface).
 */
export const COMPLIANCE_STATES = ['compliant', 'non-compliant', 'unknown', 'stale'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

export const COMPLIANCE_REASON_CODES = [
  'banned-app',
  'required-app-missing',
  'not-supervised',
  'os-too-old',
  'policy-not-applied',
] as const;
export type ComplianceReasonCode = (typeof COMPLIANCE_REASON_CODES)[number];

export interface ComplianceReason {
  code: ComplianceReasonCode;
  /** The app concerned (catalog slug), for banned and required apps. */
  app?: string;
  /** As a person reads it; identical on every platform for the same facts. */
  text: string;
}

/** What the phone last told us, already in platform-neutral terms. */
export interface ComplianceFacts {
  /** When the phone last sent a complete picture (Android status report, Apple inventory); null: never. */
  reportedAt: Date | null;
  /** Identifiers of the installed apps (Android package names, Apple bundle IDs). */
  installed: readonly string[];
  /** Whether apps can be blocked on this phone (an iPhone must be supervised); null: not known yet. */
  supervised: boolean | null;
  /** The phone's OS is older than the oldest version on which the policy can be enforced. */
  osTooOld: boolean;
  /** The policy's minimum OS (e.g. "iOS 17") when the phone's is older, else null or absent. */
  belowMinimum?: string | null;
  /** What the platform says it could not apply, one sentence each. */
  policyErrors: readonly string[];
}

/** An app the effective policy bans or requires, with its identifiers on the phone's platform. */
export interface ComplianceApp {
  slug: string;
  name: string;
  action: 'block' | 'require';
  identifiers: readonly string[];
}

export interface ComplianceEvaluation {
  state: ComplianceState;
  reasons: ComplianceReason[];
  /** Slugs of the banned (non-exempted) apps installed, sorted. */
  bannedApps: string[];
}

export interface ComplianceClock {
  now: Date;
  /** A phone whose last report is older than this many days is `stale`. */
  staleAfterDays: number;
}

const DAY_MS = 86_400_000;

export const REASON_TEXT = {
  bannedApp: (name: string) => `banned app still installed: ${name}`,
  requiredAppMissing: (name: string) => `required app missing: ${name}`,
  notSupervised: 'not supervised: apps cannot be blocked on this phone',
  osTooOld: 'OS too old to enforce the policy',
  belowMinimum: (minimum: string) => `OS older than the policy's minimum (${minimum})`,
  policyNotApplied: (error: string) => `policy not applied: ${error}`,
} as const;

export function isStale(reportedAt: Date, clock: ComplianceClock): boolean {
  return clock.now.getTime() - reportedAt.getTime() > clock.staleAfterDays * DAY_MS;
}

const byName = (a: ComplianceApp, b: ComplianceApp) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0;

/**
 * - never reported → `unknown` (never counted as compliant);
 * - last report older than the stale limit → `stale` (the reasons of that report are kept);
 * - any reason → `non-compliant`: each banned app installed (named), each required app missing,
 *   not supervised, OS too old (or older than the policy's minimum), each part of the policy the platform could not apply;
 * - no reason but supervision not known yet → `unknown`; otherwise `compliant`.
 */
export function evaluateCompliance(
  facts: ComplianceFacts,
  apps: readonly ComplianceApp[],
  clock: ComplianceClock,
): ComplianceEvaluation {
  if (!facts.reportedAt) return { state: 'unknown', reasons: [], bannedApps: [] };
  const installed = new Set(facts.installed);
  const has = (app: ComplianceApp) => app.identifiers.some((id) => installed.has(id));
  const banned = apps.filter((a) => a.action === 'block' && has(a)).sort(byName);
  // A required app with no identifier on this platform (a web app) cannot be seen in an inventory.
  const missing = apps.filter((a) => a.action === 'require' && a.identifiers.length > 0 && !has(a)).sort(byName);
  const reasons: ComplianceReason[] = [
    ...dedupe(banned).map((a) => ({ code: 'banned-app' as const, app: a.slug, text: REASON_TEXT.bannedApp(a.name) })),
    ...dedupe(missing).map((a) => ({
      code: 'required-app-missing' as const,
      app: a.slug,
      text: REASON_TEXT.requiredAppMissing(a.name),
    })),
  ];
  if (facts.supervised === false) reasons.push({ code: 'not-supervised', text: REASON_TEXT.notSupervised });
  if (facts.osTooOld) reasons.push({ code: 'os-too-old', text: REASON_TEXT.osTooOld });
  else if (facts.belowMinimum) reasons.push({ code: 'os-too-old', text: REASON_TEXT.belowMinimum(facts.belowMinimum) });
  for (const error of [...new Set(facts.policyErrors)].sort())
    reasons.push({ code: 'policy-not-applied', text: REASON_TEXT.policyNotApplied(error) });
  const bannedApps = [...new Set(banned.map((a) => a.slug))].sort();
  const state: ComplianceState = isStale(facts.reportedAt, clock)
    ? 'stale'
    : reasons.length > 0
      ? 'non-compliant'
      : facts.supervised === null
        ? 'unknown'
        : 'compliant';
  return { state, reasons, bannedApps };
}

function dedupe(apps: ComplianceApp[]): ComplianceApp[] {
  const seen = new Set<string>();
  return apps.filter((a) => (seen.has(a.slug) ? false : (seen.add(a.slug), true)));
}

/** The reasons as one line (the device's `complianceReason`), null when there is none. */
export function reasonLine(reasons: readonly ComplianceReason[]): string | null {
  return reasons.length > 0 ? reasons.map((r) => r.text).join('; ') : null;
}
