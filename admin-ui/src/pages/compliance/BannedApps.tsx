import type { BannedAppCount, MinistryPhones } from '../../client';
import { ChartFigure } from '../../components/DsfrChart';
import { n } from './vocabulary';

/** How many apps the chart draws; the table lists them all. */
const CHART_TOP = 10;

type Row = BannedAppCount & { ministries?: MinistryPhones[] };

/**
 * Banned apps still installed (no exemption), most phones first: a bar per app (Android and iOS
 * stacked) and the table of every app, with the ministries that carry it when national.
 */
export function BannedApps({ apps, ministryNames }: { apps: Row[]; ministryNames?: ReadonlyMap<string, string> }) {
  if (apps.length === 0)
    return <p>Aucune application interdite n’est installée sur un téléphone, d’après les derniers rapports.</p>;
  const top = apps.slice(0, CHART_TOP);
  const national = ministryNames !== undefined;
  return (
    <ChartFigure
      title={`Applications interdites encore installées${apps.length > CHART_TOP ? ` (les ${CHART_TOP} premières)` : ''}, en nombre de téléphones`}
      kind="bar"
      horizontal
      stacked
      tableExpanded
      height={Math.max(160, 48 * top.length + 80)}
      labels={top.map((a) => a.name)}
      series={[
        { name: 'Android', values: top.map((a) => a.android) },
        { name: 'iOS', values: top.map((a) => a.ios), colorIndex: 2 },
      ]}
      table={{
        headers: [
          'Application',
          'Téléphones',
          'Android',
          'iOS',
          ...(national ? ['Ministères concernés (téléphones)'] : []),
        ],
        rows: apps.map((a) => [
          a.name,
          n(a.phones),
          n(a.android),
          n(a.ios),
          ...(national
            ? [
                (a.ministries ?? [])
                  .map((m) => `${ministryNames.get(m.ministry) ?? m.ministry} (${n(m.phones)})`)
                  .join(', ') || '—',
              ]
            : []),
        ]),
      }}
    />
  );
}
