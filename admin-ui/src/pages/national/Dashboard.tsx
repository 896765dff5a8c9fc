import { Table } from '@codegouvfr/react-dsfr/Table';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { Legend, SEGMENT_COLORS, StackedBar } from '../../components/StackedBar';
import type { Ministry, MinistryRolloutStatus } from '../../types';
import { plural } from '../../labels';
import { useLoad } from '../../useLoad';

interface Row {
  ministry: Ministry;
  status: MinistryRolloutStatus | Error;
  exemptions: number | Error;
}

async function loadRows(): Promise<Row[]> {
  const ministries = await api.ministries();
  const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
  return Promise.all(
    ministries.map(async (ministry) => {
      const [status, exemptions] = await Promise.all([
        api.ministryRolloutStatus(ministry.code).catch(asError),
        api.exemptionRegister(ministry.code).then((r) => r.length, asError),
      ]);
      return { ministry, status, exemptions };
    }),
  );
}

const n = (v: number) => v.toLocaleString('fr-FR');

export function Dashboard() {
  const rows = useLoad(loadRows, 'dashboard');
  return (
    <LoadState loaded={rows} what="le tableau de bord">
      {(list) => {
        const failed = list.filter((r) => r.status instanceof Error || r.exemptions instanceof Error);
        return (
          <>
            {failed.length > 0 && (
              <div className="fr-alert fr-alert--warning fr-mb-3w" role="alert">
                <h2 className="fr-alert__title">Données incomplètes</h2>
                <ul>
                  {failed.map((r) => (
                    <li key={r.ministry.code}>
                      {r.ministry.name} : {(r.status instanceof Error ? r.status : (r.exemptions as Error)).message}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            <Table
              caption="Parc et dérogations par ministère"
              headers={[
                'Ministère',
                'Appareils',
                'Politique appliquée',
                'En échec',
                'Non conformes',
                'Dérogations actives',
              ]}
              data={list.map((r) => {
                const s = r.status instanceof Error ? null : r.status;
                return [
                  r.ministry.name,
                  s ? n(s.devices) : 'indisponible',
                  s ? n(s.converged) : '—',
                  s ? n(s.failed) : '—',
                  s ? n(s.nonCompliant) : '—',
                  r.exemptions instanceof Error ? 'indisponible' : n(r.exemptions),
                ];
              })}
            />
            <h2 className="fr-h4">Application de la politique par ministère</h2>
            <Legend
              segments={[
                { label: 'politique appliquée', color: SEGMENT_COLORS.converged },
                { label: 'en attente', color: SEGMENT_COLORS.pending },
                { label: 'en échec', color: SEGMENT_COLORS.failed, pattern: 'hatched' },
              ]}
            />
            {list.map((r) =>
              r.status instanceof Error ? null : (
                <StackedBar
                  key={r.ministry.code}
                  label={`${r.ministry.name} (${plural(r.status.nonCompliant, 'non conforme', 'non conformes')}, ${r.exemptions instanceof Error ? '? dérogations actives' : plural(r.exemptions, 'dérogation active', 'dérogations actives')})`}
                  total={r.status.devices}
                  segments={[
                    { label: 'politique appliquée', value: r.status.converged, color: SEGMENT_COLORS.converged },
                    { label: 'en attente', value: r.status.pending, color: SEGMENT_COLORS.pending },
                    { label: 'en échec', value: r.status.failed, color: SEGMENT_COLORS.failed, pattern: 'hatched' },
                  ]}
                />
              ),
            )}
          </>
        );
      }}
    </LoadState>
  );
}
