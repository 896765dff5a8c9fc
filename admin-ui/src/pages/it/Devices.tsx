import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useState } from 'react';
import { api } from '../../api';
import { KeysetPagerNav, useDebounced, useKeysetPages } from '../../components/KeysetPager';
import { LoadState } from '../../components/LoadState';
import { ComplianceBadge } from '../../components/StatusBadge';
import { formatDateTime, OWNERSHIP_LABELS, PLATFORM_LABELS } from '../../labels';
import type { Compliance, Device } from '../../types';
import { useLoad } from '../../useLoad';
import { href } from '../../router';
import { reasonInFrench } from '../compliance/vocabulary';
import { DevicePage } from './DevicePage';

/**
 * Where the device's policy is (the API's `delivery`): waiting is never a failure — the phone has
 * the policy to apply, or is switched off — so it says when the phone was last seen.
 */
export function DeliveryBadge({ device: d }: { device: Device }) {
  switch (d.delivery) {
    case 'converged':
      return (
        <Badge small severity="success">
          À jour
        </Badge>
      );
    case 'waiting':
      return (
        <Badge small severity="info">
          {d.lastSeenAt ? `En attente (vu le ${formatDateTime(d.lastSeenAt)})` : 'En attente (jamais vu)'}
        </Badge>
      );
    case 'retrying':
      return (
        <Badge small severity="warning">
          Nouvel essai en cours{d.pushError ? ` : ${d.pushError}` : ''}
        </Badge>
      );
    case 'failed':
      return (
        <Badge small severity="error">
          Échec : {d.pushError ?? 'inconnu'}
        </Badge>
      );
  }
}

const PAGE_SIZE = 50;

/**
 * A ministry's phones, or one of them (#/informatique/appareils/<id>): the list keeps its search and
 * page while a device is open, so that going back finds it as it was.
 */
export function Devices({
  ministry,
  deviceId,
  onMinistry,
}: {
  ministry: string;
  deviceId?: string;
  onMinistry: (code: string) => void;
}) {
  return (
    <>
      {deviceId && <DevicePage id={deviceId} ministry={ministry} onMinistry={onMinistry} />}
      <div hidden={deviceId !== undefined}>
        <DeviceList ministry={ministry} />
      </div>
    </>
  );
}

/** A ministry's phones, searched and paged by the API (keyset): a fleet of 100,000 pages like one of 10. */
function DeviceList({ ministry }: { ministry: string }) {
  const [compliance, setCompliance] = useState<Compliance | ''>('non-compliant');
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim());
  const pages = useKeysetPages();
  const devices = useLoad(
    async () => ({
      ...(await api.ministryDevices(ministry, {
        compliance: compliance || undefined,
        q: q || undefined,
        cursor: pages.cursor,
        limit: PAGE_SIZE,
      })),
      number: pages.number,
      q,
    }),
    `devices-${ministry}-${compliance}-${q}-${pages.cursor ?? ''}`,
  );
  // A new search or filter starts again from the first page.
  const [asked, setAsked] = useState(`${compliance}|${q}`);
  if (asked !== `${compliance}|${q}`) {
    setAsked(`${compliance}|${q}`);
    pages.reset();
  }
  return (
    <>
      <div className="fr-grid-row fr-grid-row--gutters">
        <div className="fr-col-12 fr-col-md-6">
          <Input
            label="Rechercher un appareil"
            hintText="Nom, modèle, agent (nom ou adresse), numéro de série, UDID"
            iconId="fr-icon-search-line"
            nativeInputProps={{ type: 'search', value: search, onChange: (e) => setSearch(e.target.value) }}
          />
        </div>
        <div className="fr-col-12 fr-col-md-6">
          <Select
            label="Conformité"
            nativeSelectProps={{
              value: compliance,
              onChange: (e) => setCompliance(e.target.value as Compliance | ''),
            }}
          >
            <option value="non-compliant">Non conformes</option>
            <option value="compliant">Conformes</option>
            <option value="unknown">Conformité inconnue</option>
            <option value="">Tous les appareils</option>
          </Select>
        </div>
      </div>
      <LoadState loaded={devices} what="les appareils">
        {(page) =>
          page.items.length === 0 ? (
            <p>{page.q ? `Aucun appareil ne correspond à « ${page.q} ».` : 'Aucun appareil.'}</p>
          ) : (
            <>
              <Table
                caption={`Appareils${page.q ? ` correspondant à « ${page.q} »` : ''} : ${page.total}${
                  page.total > PAGE_SIZE ? ` — page ${page.number} sur ${Math.ceil(page.total / PAGE_SIZE)}` : ''
                }`}
                headers={['Appareil', 'Plateforme', 'Propriété', 'Conformité', 'Motif', 'Politique', 'Dernier contact']}
                data={page.items.map((d) => [
                  <span key="n">
                    <a href={href('informatique', 'appareils', d.id)}>{d.displayName}</a>
                    {d.model ? ` (${d.model})` : ''}
                  </span>,
                  PLATFORM_LABELS[d.platform],
                  OWNERSHIP_LABELS[d.ownership],
                  <ComplianceBadge key="c" compliance={d.compliance} />,
                  d.complianceReasons.length ? d.complianceReasons.map((r) => reasonInFrench(r)).join(' ; ') : '—',
                  <DeliveryBadge key="p" device={d} />,
                  formatDateTime(d.lastSeenAt),
                ])}
              />
              <KeysetPagerNav
                label="Pages des appareils"
                number={page.number}
                nextCursor={page.nextCursor}
                loading={devices.loading}
                onPrevious={pages.previous}
                onNext={pages.next}
              />
            </>
          )
        }
      </LoadState>
    </>
  );
}
