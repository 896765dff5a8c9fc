import { ScrollTable as Table } from '../../components/ScrollTable';
import { LoadState } from '../../components/LoadState';
import { formatDateTime } from '../../labels';
import { useLoad } from '../../useLoad';
import { complianceApi } from './complianceApi';
import { n } from './vocabulary';

/** The national register of active exemptions, counted per ministry and per app (no names). */
export function ExemptionRegister() {
  const register = useLoad(() => complianceApi.exemptions(), 'compliance-exemptions');
  return (
    <LoadState loaded={register} what="le registre des dérogations">
      {(r) => (
        <>
          <p>
            <strong>{n(r.total)}</strong> {r.total > 1 ? 'dérogations en cours' : 'dérogation en cours'} dans l’ensemble
            des ministères (au {formatDateTime(r.generatedAt)}).
          </p>
          <div className="fr-grid-row fr-grid-row--gutters">
            <div className="fr-col-12 fr-col-md-6">
              <Table
                caption="Dérogations en cours par ministère"
                headers={['Ministère', 'Dérogations en cours']}
                data={r.byMinistry.map((m) => [m.name, n(m.active)])}
              />
            </div>
            <div className="fr-col-12 fr-col-md-6">
              {r.byApp.length === 0 ? (
                <p>Aucune application n’est couverte par une dérogation en cours.</p>
              ) : (
                <Table
                  caption="Dérogations en cours par application"
                  headers={['Application', 'Dérogations en cours']}
                  data={r.byApp.map((a) => [a.name, n(a.active)])}
                />
              )}
            </div>
          </div>
        </>
      )}
    </LoadState>
  );
}
