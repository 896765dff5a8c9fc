import { Select } from '@codegouvfr/react-dsfr/Select';
import { useState } from 'react';
import type { ComplianceSeries, ComplianceTrend } from '../../client';
import { ChartFigure, type ChartSeries } from '../../components/DsfrChart';
import { LoadState } from '../../components/LoadState';
import { useLoad } from '../../useLoad';
import { complianceApi } from './complianceApi';
import { daysBefore, formatDay, n, parisDay, percent } from './vocabulary';

const PERIODS = [
  { days: 30, label: 'les 30 derniers jours' },
  { days: 90, label: 'les 90 derniers jours' },
  { days: 365, label: 'les 12 derniers mois' },
] as const;

function daysOf(trend: ComplianceTrend): string[] {
  return [...new Set(trend.series.flatMap((s) => s.points.map((p) => p.day)))].sort();
}

function pointOn(series: ComplianceSeries, day: string) {
  return series.points.find((p) => p.day === day);
}

/** Every ministry: the share of compliant phones per day, one line per ministry and one for all together. */
function NationalTrend({ trend }: { trend: ComplianceTrend }) {
  const days = daysOf(trend);
  // Ministries without any phone over the period have nothing to draw.
  const series = trend.series.filter((s) => s.points.some((p) => p.phones > 0));
  const title = 'Part des téléphones conformes par jour, par ministère (en %)';
  return (
    <ChartFigure
      title={title}
      kind="line"
      unit="%"
      yMax={100}
      labels={days.map((d) => formatDay(d))}
      series={series.map<ChartSeries>((s) => ({
        name: s.name,
        emphasis: s.ministry === null,
        values: days.map((d) => pointOn(s, d)?.compliantPercent ?? null),
      }))}
      table={{
        headers: ['Jour', ...series.map((s) => s.name)],
        rows: days.map((d) => [
          formatDay(d, 'long'),
          ...series.map((s) => {
            const p = pointOn(s, d);
            return p ? `${percent(p.compliantPercent)} (${n(p.compliant)} sur ${n(p.phones)})` : '—';
          }),
        ]),
      }}
    />
  );
}

const STATES = [
  { key: 'compliant', name: 'Conformes', color: 2 },
  { key: 'nonCompliant', name: 'Non conformes', color: 3 },
  { key: 'unknown', name: 'Inconnus', color: 7 },
  { key: 'stale', name: 'Rapport trop ancien', color: 1 },
] as const;

/** One ministry: its phones in each state, per day. */
function MinistryTrend({ series }: { series: ComplianceSeries }) {
  const days = series.points.map((p) => p.day);
  const title = `Téléphones par état de conformité et par jour — ${series.name}`;
  return (
    <ChartFigure
      title={title}
      kind="line"
      labels={days.map((d) => formatDay(d))}
      series={STATES.map((s) => ({ name: s.name, colorIndex: s.color, values: series.points.map((p) => p[s.key]) }))}
      table={{
        headers: ['Jour', 'Téléphones', ...STATES.map((s) => s.name), 'Part des conformes'],
        rows: series.points.map((p) => [
          formatDay(p.day, 'long'),
          n(p.phones),
          ...STATES.map((s) => n(p[s.key])),
          percent(p.compliantPercent),
        ]),
      }}
    />
  );
}

/** The daily snapshots over a period the reader picks: every ministry, or one. */
export function Trend({ ministry }: { ministry?: string }) {
  const [days, setDays] = useState<number>(PERIODS[0].days);
  const to = parisDay();
  const from = daysBefore(to, days - 1);
  const trend = useLoad(() => complianceApi.trend(from, to, ministry), `trend-${ministry ?? '*'}-${from}-${to}`);
  return (
    <>
      <Select
        label="Période"
        hint="Un relevé par jour, pris au démarrage du service puis chaque soir à 23 h 55 (heure de Paris) : le relevé du jour peut différer des chiffres clés, qui sont ceux de l’instant."
        className="fr-mb-2w"
        nativeSelectProps={{ value: String(days), onChange: (e) => setDays(Number(e.target.value)) }}
      >
        {PERIODS.map((p) => (
          <option key={p.days} value={p.days}>
            {p.label}
          </option>
        ))}
      </Select>
      <LoadState loaded={trend} what="l’évolution">
        {(t) => {
          const own = ministry ? t.series.find((s) => s.ministry === ministry) : undefined;
          if (daysOf(t).length === 0)
            return (
              <p>
                Aucun relevé sur la période : le service relève les chiffres chaque jour, au démarrage puis chaque nuit.
              </p>
            );
          return own ? <MinistryTrend series={own} /> : <NationalTrend trend={t} />;
        }}
      </LoadState>
    </>
  );
}
