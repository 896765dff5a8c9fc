import type { ComplianceCounts, PlatformComplianceCounts } from '../../client';
import { KeyFigures } from '../../components/KeyFigures';
import { Legend, SEGMENT_COLORS, StackedBar } from '../../components/StackedBar';
import { PLATFORM_LABELS, plural } from '../../labels';
import { n, percent } from './vocabulary';

/** Phones, compliant %, non-compliant, unknown, stale, banned apps still installed (and what each means). */
export function HeadlineFigures({
  counts,
  staleAfterDays,
  label,
  activeExemptions,
}: {
  counts: ComplianceCounts;
  staleAfterDays: number;
  label: string;
  activeExemptions?: number;
}) {
  return (
    <KeyFigures
      label={label}
      figures={[
        { label: 'Téléphones', value: n(counts.phones), detail: 'enrôlés et joignables' },
        {
          label: 'Conformes',
          value: percent(counts.compliantPercent),
          tone: 'success',
          detail: plural(counts.compliant, 'téléphone', 'téléphones'),
        },
        { label: 'Non conformes', value: n(counts.nonCompliant), tone: 'error', detail: 'au moins un motif' },
        {
          label: 'Inconnus',
          value: n(counts.unknown),
          tone: 'info',
          detail: 'aucun rapport complet : jamais comptés conformes',
        },
        {
          label: 'Rapport trop ancien',
          value: n(counts.stale),
          tone: 'warning',
          detail: `aucun rapport depuis plus de ${n(staleAfterDays)} jours`,
        },
        {
          label: 'Avec une application interdite',
          value: n(counts.withBannedApps),
          tone: 'error',
          detail:
            activeExemptions === undefined
              ? 'encore installée au dernier rapport'
              : `encore installée ; ${plural(activeExemptions, 'dérogation en cours', 'dérogations en cours')}`,
        },
      ]}
    />
  );
}

export const STATE_SEGMENTS = [
  { key: 'compliant', label: 'conformes', color: SEGMENT_COLORS.converged },
  { key: 'nonCompliant', label: 'non conformes', color: SEGMENT_COLORS.failed, pattern: 'hatched' },
  { key: 'unknown', label: 'inconnus', color: SEGMENT_COLORS.held },
  { key: 'stale', label: 'rapport trop ancien', color: SEGMENT_COLORS.warning },
] as const;

export function StateLegend() {
  return (
    <Legend
      segments={STATE_SEGMENTS.map((s) => ({
        label: s.label,
        color: s.color,
        ...('pattern' in s ? { pattern: s.pattern } : {}),
      }))}
    />
  );
}

/** One bar of the four states; the figures are written next to it. */
export function StateBar({ label, counts }: { label: string; counts: ComplianceCounts }) {
  return (
    <StackedBar
      label={label}
      total={counts.phones}
      segments={STATE_SEGMENTS.map((s) => ({
        label: s.label,
        value: counts[s.key],
        color: s.color,
        ...('pattern' in s ? { pattern: s.pattern } : {}),
      }))}
    />
  );
}

/** The figures per platform, as a table's rows. */
export function platformRows(byPlatform: PlatformComplianceCounts[]): string[][] {
  return byPlatform.map((p) => [
    PLATFORM_LABELS[p.platform],
    n(p.phones),
    `${n(p.compliant)} (${percent(p.compliantPercent)})`,
    n(p.nonCompliant),
    n(p.unknown),
    n(p.stale),
    n(p.withBannedApps),
  ]);
}

export const PLATFORM_HEADERS = [
  'Plateforme',
  'Téléphones',
  'Conformes',
  'Non conformes',
  'Inconnus',
  'Rapport trop ancien',
  'Avec une application interdite',
];
