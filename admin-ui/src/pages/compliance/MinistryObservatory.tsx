import { Pagination } from '@codegouvfr/react-dsfr/Pagination';
import { SegmentedControl } from '@codegouvfr/react-dsfr/SegmentedControl';
import { ScrollTable as Table } from '../../components/ScrollTable';
import type { ComplianceDevice, MinistryCompliance } from '../../client';
import { LoadState } from '../../components/LoadState';
import { ComplianceBadge } from '../../components/StatusBadge';
import { formatDateTime, PLATFORM_LABELS, plural } from '../../labels';
import { href, navigate } from '../../router';
import { useLoad } from '../../useLoad';
import { BannedApps } from './BannedApps';
import { complianceApi } from './complianceApi';
import { Exports } from './Exports';
import { HeadlineFigures, PLATFORM_HEADERS, platformRows } from './figures';
import { Trend } from './Trend';
import { DRILL_FILTERS, drillFilter, n, reasonInFrench, type DrillFilter } from './vocabulary';

export const PAGE_SIZE = 20;

function Reasons({ device, appNames }: { device: ComplianceDevice; appNames: ReadonlyMap<string, string> }) {
  if (device.reasons.length === 0) {
    return (
      <>
        {device.compliance === 'unknown'
          ? 'Aucun rapport complet reçu'
          : device.compliance === 'stale'
            ? 'Rapport trop ancien'
            : '—'}
      </>
    );
  }
  return (
    <ul className="fr-mb-0">
      {device.reasons.map((r) => (
        <li key={`${r.code}-${r.app ?? r.text}`}>{reasonInFrench(r, appNames)}</li>
      ))}
    </ul>
  );
}

/** The phones to look at, one page, with the filter and the pagination in the address. */
function Phones({
  data,
  filter,
  page,
  link,
}: {
  data: MinistryCompliance;
  filter: DrillFilter;
  page: number;
  link: (filter: string, page: number) => string[];
}) {
  const { devices } = data;
  const pages = Math.max(1, Math.ceil(devices.total / PAGE_SIZE));
  const appNames = new Map(data.bannedApps.map((a) => [a.app, a.name]));
  const segment = (f: DrillFilter) => ({
    label: f.label,
    nativeInputProps: { checked: f.slug === filter.slug, onChange: () => navigate(...link(f.slug, 1)) },
  });
  return (
    <>
      <SegmentedControl
        legend="Téléphones affichés"
        small
        segments={[
          segment(DRILL_FILTERS[0]),
          segment(DRILL_FILTERS[1]),
          segment(DRILL_FILTERS[2]),
          segment(DRILL_FILTERS[3]),
        ]}
      />
      {devices.items.length === 0 ? (
        <p className="fr-mt-2w">Aucun téléphone dans cet état.</p>
      ) : (
        <>
          <Table
            className="fr-mt-2w"
            caption={`${filter.label} : ${plural(devices.total, 'téléphone', 'téléphones')}${pages > 1 ? ` (${n(devices.offset + 1)} à ${n(devices.offset + devices.items.length)} affichés)` : ''}`}
            headers={['Téléphone', 'Plateforme', 'Agent', 'État', 'Motifs', 'Dernier rapport complet']}
            data={devices.items.map((d) => [
              `${d.displayName}${d.model ? ` (${d.model})` : ''}${d.osVersion ? `, version ${d.osVersion}` : ''}`,
              PLATFORM_LABELS[d.platform],
              d.agentEmail ?? '—',
              <ComplianceBadge key="state" compliance={d.compliance} />,
              <Reasons key="reasons" device={d} appNames={appNames} />,
              d.reportedAt ? formatDateTime(d.reportedAt) : 'jamais',
            ])}
          />
          {pages > 1 && (
            <Pagination
              key={`${filter.slug}-${page}`}
              count={pages}
              defaultPage={Math.min(page, pages)}
              getPageLinkProps={(p) => ({ href: href(...link(filter.slug, p)) })}
            />
          )}
        </>
      )}
    </>
  );
}

/**
 * One ministry's compliance: its figures, its phones to look at (non-compliant and unknown by
 * default, with the reasons in French), its trend, its banned apps and its exports. `base` is the
 * address of the page showing it (#/<base…>/<ministère>/<filtre>/<page>).
 */
export function MinistryObservatory({
  code,
  base,
  filterSlug,
  page,
}: {
  code: string;
  base: string[];
  filterSlug: string | undefined;
  page: number;
}) {
  const filter = drillFilter(filterSlug);
  const current = Math.max(1, page);
  const loaded = useLoad(
    () =>
      complianceApi.ministry(code, {
        ...(filter.state ? { state: filter.state } : {}),
        limit: PAGE_SIZE,
        offset: (current - 1) * PAGE_SIZE,
      }),
    `compliance-${code}-${filter.slug}-${current}`,
  );
  const link = (f: string, p: number) => [...base, code, f, String(p)];
  return (
    <LoadState loaded={loaded} what="les chiffres du ministère">
      {(data) => (
        <>
          <h2>{data.name}</h2>
          <p className="fr-text--sm">
            Chiffres au {formatDateTime(data.generatedAt)}. Un téléphone est inconnu tant qu’il n’a pas envoyé de
            rapport complet, et n’est jamais compté conforme.
          </p>
          <HeadlineFigures
            label={`Chiffres clés — ${data.name}`}
            counts={data.totals}
            staleAfterDays={data.staleAfterDays}
            activeExemptions={data.activeExemptions}
          />
          <Table caption="Par plateforme" headers={PLATFORM_HEADERS} data={platformRows(data.byPlatform)} />

          <h3 id="telephones-a-examiner">Téléphones à examiner</h3>
          <Phones data={data} filter={filter} page={current} link={link} />

          <h3 className="fr-mt-4w">Évolution</h3>
          <Trend ministry={code} />

          <h3 className="fr-mt-4w">Applications interdites encore installées</h3>
          <BannedApps apps={data.bannedApps} />

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
          <Exports ministry={code} />
        </>
      )}
    </LoadState>
  );
}
