import { fr } from '@codegouvfr/react-dsfr';
import { Accordion } from '@codegouvfr/react-dsfr/Accordion';
import { ScrollTable as Table } from './ScrollTable';
import { useIsDark } from '@codegouvfr/react-dsfr/useIsDark';
import type { ChartConfiguration, PointStyle } from 'chart.js';
import { useEffect, useRef, type ReactNode } from 'react';

/** chart.js is fetched with the first chart (its own chunk): the other pages never download it. */
const chartJs = () =>
  import('chart.js').then((c) => {
    c.Chart.register(
      c.LineController,
      c.LineElement,
      c.PointElement,
      c.BarController,
      c.BarElement,
      c.CategoryScale,
      c.LinearScale,
      c.Tooltip,
      c.Legend,
    );
    return c.Chart;
  });

/**
 * The DSFR data-visualisation palette (the categorical colours of @gouvfr/dsfr-chart, light and
 * dark themes), strongest contrast first.
 */
export const DSFR_CHART_PALETTE = {
  light: ['#5C68E5', '#29598F', '#31A7AE', '#B478F1', '#82B5F2', '#CFB1F5', '#81EEF5', '#CECECE'],
  dark: ['#5C68E5', '#699BD6', '#00828A', '#BC8AF2', '#4878B1', '#CFB1F5', '#51C1C8', '#A4A4A4'],
} as const;

/** Lines and points told apart without colour as well. */
const POINT_STYLES: PointStyle[] = [
  'circle',
  'rect',
  'triangle',
  'rectRot',
  'star',
  'crossRot',
  'rectRounded',
  'cross',
];
const DASHES: number[][] = [[], [6, 3], [2, 3], [8, 3, 2, 3]];

export interface ChartSeries {
  name: string;
  /** One value per label; null where there is none (no phones that day). */
  values: (number | null)[];
  /** Drawn thicker (e.g. all ministries together). */
  emphasis?: boolean;
  /** A colour of the palette, by index; default: the series' own position. */
  colorIndex?: number;
}

interface ChartSpec {
  kind: 'line' | 'bar';
  labels: string[];
  series: ChartSeries[];
  unit?: string;
  yMax?: number;
  stacked?: boolean;
  horizontal?: boolean;
}

function configuration(
  spec: ChartSpec,
  isDark: boolean,
): ChartConfiguration<'line' | 'bar', (number | null)[], string> {
  const palette = isDark ? DSFR_CHART_PALETTE.dark : DSFR_CHART_PALETTE.light;
  const hex = fr.colors.getHex({ isDark }).decisions;
  const text = hex.text.mention.grey.default;
  const grid = hex.border.default.grey.default;
  const suffix = spec.unit ? ` ${spec.unit}` : '';
  const valueAxis = {
    beginAtZero: true,
    ...(spec.yMax !== undefined ? { max: spec.yMax } : {}),
    ticks: {
      color: text,
      precision: 0,
      callback: (v: number | string) => `${Number(v).toLocaleString('fr-FR')}${suffix}`,
    },
    grid: { color: grid },
    stacked: spec.stacked ?? false,
  };
  const categoryAxis = { ticks: { color: text }, grid: { display: false }, stacked: spec.stacked ?? false };
  return {
    type: spec.kind,
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s, i) => {
        const color = palette[(s.colorIndex ?? i) % palette.length] as string;
        return spec.kind === 'line'
          ? {
              type: 'line' as const,
              label: s.name,
              data: s.values,
              borderColor: color,
              backgroundColor: color,
              borderWidth: s.emphasis ? 4 : 2,
              borderDash: DASHES[i % DASHES.length],
              pointStyle: POINT_STYLES[i % POINT_STYLES.length],
              pointRadius: s.emphasis ? 5 : 4,
              spanGaps: true,
              tension: 0.2,
            }
          : { type: 'bar' as const, label: s.name, data: s.values, backgroundColor: color, borderColor: color };
      }),
    },
    options: {
      locale: 'fr-FR',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: spec.horizontal ? 'y' : 'x',
      font: { family: 'Marianne, arial, sans-serif' },
      scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
      plugins: {
        legend: {
          display: spec.series.length > 1,
          position: 'bottom',
          labels: { color: text, usePointStyle: true, font: { family: 'Marianne, arial, sans-serif' } },
        },
        tooltip: {
          callbacks: {
            label: (item) =>
              `${item.dataset.label ?? ''} : ${item.parsed[spec.horizontal ? 'x' : 'y']?.toLocaleString('fr-FR') ?? '—'}${suffix}`,
          },
        },
      },
    },
  };
}

/**
 * A chart.js chart drawn in the DSFR palette, redrawn when the data or the colour scheme change.
 * The canvas is one image for assistive technologies; its figures are in the table that
 * ChartFigure puts next to it.
 */
function DsfrChart({ spec, label, height }: { spec: ChartSpec; label: string; height: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { isDark } = useIsDark();
  // The data as text: the chart is redrawn when it changes, not on every render.
  const serialized = JSON.stringify(spec);
  useEffect(() => {
    let live = true;
    let chart: { destroy: () => void } | undefined;
    void chartJs().then((Chart) => {
      if (live && canvas.current)
        chart = new Chart(canvas.current, configuration(JSON.parse(serialized) as ChartSpec, isDark));
    });
    return () => {
      live = false;
      chart?.destroy();
    };
  }, [serialized, isDark]);
  return (
    <div style={{ position: 'relative', height: `${height}px`, width: '100%' }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

export interface DataTable {
  headers: string[];
  rows: ReactNode[][];
}

/**
 * A chart with its table equivalent: the canvas says where the figures are, and the same figures
 * are in a DSFR table inside an accordion right below it (closed at first, reachable from the keyboard).
 */
export function ChartFigure({
  title,
  kind,
  labels,
  series,
  table,
  unit,
  yMax,
  stacked,
  horizontal,
  height = 320,
  tableExpanded = false,
}: {
  title: string;
  kind: 'line' | 'bar';
  labels: string[];
  series: ChartSeries[];
  table: DataTable;
  unit?: string;
  yMax?: number;
  stacked?: boolean;
  horizontal?: boolean;
  height?: number;
  /** Open the table at first (when the table is the main reading, as a ranking). */
  tableExpanded?: boolean;
}) {
  const spec: ChartSpec = { kind, labels, series, unit, yMax, stacked, horizontal };
  return (
    <figure className="fr-mb-4w fr-mx-0">
      <DsfrChart
        spec={spec}
        height={height}
        label={`${title}. Les valeurs sont dans le tableau « Données du graphique » qui suit.`}
      />
      <figcaption className="fr-sr-only">{title}</figcaption>
      <Accordion label={`Données du graphique : ${title}`} className="fr-mt-2w" defaultExpanded={tableExpanded}>
        <Table caption={title} headers={table.headers} data={table.rows} />
      </Accordion>
    </figure>
  );
}
