/** The observatory's words: reasons, states and figures in French, numbers and days as read in France. */
import type { ComplianceCounts, ComplianceReason, ComplianceState } from '../../client';

/** The evaluator's reason texts start with these (api/src/compliance/compliance-evaluator.ts, REASON_TEXT). */
const PREFIXES = {
  'banned-app': 'banned app still installed: ',
  'required-app-missing': 'required app missing: ',
  'policy-not-applied': 'policy not applied: ',
} as const;

function after(text: string, prefix: string): string | null {
  return text.startsWith(prefix) ? text.slice(prefix.length) : null;
}

/**
 * One reason, in French. The app's name comes from `appNames` (catalog slug → name) when known,
 * else from the API's own sentence, else the slug; what a platform says it could not apply is
 * quoted as the platform wrote it.
 */
export function reasonInFrench(reason: ComplianceReason, appNames: ReadonlyMap<string, string> = new Map()): string {
  const app = () =>
    (reason.app && appNames.get(reason.app)) ??
    after(reason.text, PREFIXES[reason.code as keyof typeof PREFIXES] ?? '') ??
    reason.app ??
    'application inconnue';
  switch (reason.code) {
    case 'banned-app':
      return `Application interdite encore installée : ${app()}`;
    case 'required-app-missing':
      return `Application obligatoire absente : ${app()}`;
    case 'not-supervised':
      return 'Téléphone non supervisé : les applications ne peuvent pas y être bloquées';
    case 'os-too-old':
      return 'Système trop ancien pour appliquer la politique';
    case 'policy-not-applied':
      return `Politique non appliquée : ${after(reason.text, PREFIXES['policy-not-applied']) ?? reason.text}`;
  }
}

/** The drill-down's filters, as they appear in the address (#/…/<ministère>/<filtre>/<page>). */
export const DRILL_FILTERS = [
  { slug: 'a-examiner', state: undefined, label: 'Non conformes et inconnus' },
  { slug: 'non-conformes', state: 'non-compliant', label: 'Non conformes' },
  { slug: 'inconnus', state: 'unknown', label: 'Inconnus' },
  { slug: 'rapport-ancien', state: 'stale', label: 'Rapport trop ancien' },
] as const satisfies readonly { slug: string; state: ComplianceState | undefined; label: string }[];

export type DrillFilter = (typeof DRILL_FILTERS)[number];

export function drillFilter(slug: string | undefined): DrillFilter {
  return DRILL_FILTERS.find((f) => f.slug === slug) ?? DRILL_FILTERS[0];
}

export const n = (v: number) => v.toLocaleString('fr-FR');

export function percent(v: number | null): string {
  return v === null ? '—' : `${v.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`;
}

/** The counts as one sentence, for a figure's text equivalent. */
export function countsSentence(c: ComplianceCounts): string {
  return `${n(c.phones)} téléphones : ${n(c.compliant)} conformes (${percent(c.compliantPercent)}), ${n(c.nonCompliant)} non conformes, ${n(c.unknown)} inconnus, ${n(c.stale)} au rapport trop ancien`;
}

/** Today in Paris, YYYY-MM-DD (the API's snapshots are days of Europe/Paris). */
export function parisDay(date: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(date);
}

/** The day `days` before `day` (both YYYY-MM-DD). */
export function daysBefore(day: string, days: number): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

const shortDay = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const longDay = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'UTC' });

export function formatDay(day: string, style: 'short' | 'long' = 'short'): string {
  return (style === 'short' ? shortDay : longDay).format(new Date(`${day}T12:00:00Z`));
}
