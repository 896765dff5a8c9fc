import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { ACTION_LABELS, formatDateTime } from '../../labels';
import { useLoad } from '../../useLoad';

export function Baseline() {
  const data = useLoad(async () => {
    const [policy, catalog] = await Promise.all([api.policy('national'), api.catalog()]);
    return { policy, names: new Map(catalog.map((a) => [a.slug, a.name])) };
  }, 'baseline');
  return (
    <LoadState loaded={data} what="le socle national">
      {({ policy, names }) => (
        <>
          <p>
            Version {policy.version} du {formatDateTime(policy.createdAt)} par {policy.createdBy}
            {policy.comment && ` — ${policy.comment}`}. Les modifications du socle passent par la politique en code (
            <code>npm run policies -- plan</code>) ou l’API de plan.
          </p>
          {policy.content?.description && <p>{policy.content.description}</p>}
          <Table
            caption={`Règles du socle national (${policy.content?.rules.length ?? 0})`}
            headers={['Application', 'Règle', 'Fondement juridique', 'Dérogation']}
            data={(policy.content?.rules ?? []).map((r) => [
              names.get(r.app) ?? r.app,
              <Badge
                key="a"
                small
                severity={r.action === 'block' ? 'error' : r.action === 'require' ? 'success' : undefined}
              >
                {ACTION_LABELS[r.action]}
              </Badge>,
              r.legalBasis ?? '—',
              r.action !== 'block' ? '—' : r.exemptable ? `Oui, ${r.maxExemptionDays ?? '?'} jours au plus` : 'Non',
            ])}
          />
        </>
      )}
    </LoadState>
  );
}
