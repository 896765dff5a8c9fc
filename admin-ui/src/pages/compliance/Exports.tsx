import { exportUrl, type ExportDataset } from './complianceApi';

const DATASETS: { dataset: ExportDataset; label: string }[] = [
  { dataset: 'ministries', label: 'Téléphones par ministère, plateforme et état de conformité' },
  { dataset: 'apps', label: 'Applications interdites encore installées' },
  { dataset: 'os', label: 'Téléphones par version du système' },
  { dataset: 'trend', label: 'Relevés quotidiens des 30 derniers jours' },
  { dataset: 'exemptions', label: 'Dérogations en cours par application' },
];

/** The aggregates (no personal data, fit for open data) as CSV for French Excel and as JSON. */
export function Exports({ ministry }: { ministry?: string }) {
  return (
    <>
      <p className="fr-text--sm">
        Données agrégées, sans donnée personnelle. CSV pour Excel (séparateur « ; », heure de Paris) ou JSON.
      </p>
      <ul>
        {DATASETS.map((d) => (
          <li key={d.dataset}>
            {d.label} :{' '}
            <a
              className="fr-link fr-link--sm fr-icon-download-line fr-link--icon-right"
              href={exportUrl('csv', d.dataset, ministry)}
              download
            >
              CSV<span className="fr-sr-only"> — {d.label}</span>
            </a>{' '}
            ·{' '}
            <a
              className="fr-link fr-link--sm fr-icon-download-line fr-link--icon-right"
              href={exportUrl('json', d.dataset, ministry)}
              download
            >
              JSON<span className="fr-sr-only"> — {d.label}</span>
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}
