import { ScrollTable as Table } from '../../components/ScrollTable';
import { LoadState } from '../../components/LoadState';
import { formatDateTime, PLATFORM_LABELS } from '../../labels';
import { href } from '../../router';
import { useLoad } from '../../useLoad';
import { BannedApps } from './BannedApps';
import { complianceApi } from './complianceApi';
import { ExemptionRegister } from './ExemptionRegister';
import { Exports } from './Exports';
import { HeadlineFigures, PLATFORM_HEADERS, platformRows, StateBar, StateLegend } from './figures';
import { Trend } from './Trend';
import { n, percent } from './vocabulary';

/** The banned-app ranking, with the ministries that carry each app. */
function Ranking({ ministryNames }: { ministryNames: ReadonlyMap<string, string> }) {
  const ranking = useLoad(() => complianceApi.apps(), 'compliance-apps');
  return (
    <LoadState loaded={ranking} what="le classement des applications interdites">
      {(r) => <BannedApps apps={r.apps} ministryNames={ministryNames} />}
    </LoadState>
  );
}

/**
 * The national compliance observatory (Dinum): every ministry's figures from the read model in
 * one request, the trend, the banned apps still installed, the register of active exemptions and
 * the exports. Each ministry opens its drill-down at #/<base…>/<ministère>.
 */
export function NationalObservatory({ base }: { base: string[] }) {
  const national = useLoad(() => complianceApi.national(), 'compliance-national');
  return (
    <LoadState loaded={national} what="l’observatoire de la conformité">
      {(data) => {
        const names = new Map(data.ministries.map((m) => [m.ministry, m.name]));
        return (
          <>
            <h2>Conformité des téléphones de l’État</h2>
            <p className="fr-text--sm">
              Chiffres au {formatDateTime(data.generatedAt)}, tous ministères confondus. Un téléphone est inconnu tant
              qu’il n’a pas envoyé de rapport complet : il n’est jamais compté conforme.
            </p>
            <HeadlineFigures
              label="Chiffres clés — ensemble des ministères"
              counts={data.totals}
              staleAfterDays={data.staleAfterDays}
            />
            <Table caption="Par plateforme" headers={PLATFORM_HEADERS} data={platformRows(data.byPlatform)} />

            <h3 className="fr-mt-4w">Par ministère</h3>
            <Table
              caption="Conformité par ministère"
              headers={[
                'Ministère',
                'Téléphones',
                'Conformes',
                'Non conformes',
                'Inconnus',
                'Rapport trop ancien',
                'Avec une application interdite',
              ]}
              data={data.ministries.map((m) => [
                <a key="m" href={href(...base, m.ministry)}>
                  {m.name}
                  <span className="fr-sr-only"> : voir le détail</span>
                </a>,
                n(m.totals.phones),
                `${n(m.totals.compliant)} (${percent(m.totals.compliantPercent)})`,
                n(m.totals.nonCompliant),
                n(m.totals.unknown),
                n(m.totals.stale),
                n(m.totals.withBannedApps),
              ])}
            />
            <StateLegend />
            {data.ministries
              .filter((m) => m.totals.phones > 0)
              .map((m) => (
                <StateBar key={m.ministry} label={m.name} counts={m.totals} />
              ))}

            <h3 className="fr-mt-4w">Évolution par ministère</h3>
            <Trend />

            <h3 className="fr-mt-4w">Applications interdites encore installées</h3>
            <Ranking ministryNames={names} />

            <h3 className="fr-mt-4w">Registre national des dérogations en cours</h3>
            <ExemptionRegister />

            <h3 className="fr-mt-4w">Versions du système</h3>
            <Table
              caption="Téléphones par version du système"
              headers={['Plateforme', 'Version', 'Téléphones', 'Politique applicable']}
              data={data.osVersions.map((o) => [
                PLATFORM_LABELS[o.platform],
                o.osMajor ?? 'non communiquée',
                n(o.phones),
                o.tooOld ? 'Non : version trop ancienne' : 'Oui',
              ])}
            />

            <h3 className="fr-mt-4w">Exports</h3>
            <Exports />
          </>
        );
      }}
    </LoadState>
  );
}
