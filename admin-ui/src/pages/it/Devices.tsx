import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { useState } from 'react';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { ComplianceBadge } from '../../components/StatusBadge';
import { formatDateTime, OWNERSHIP_LABELS, PLATFORM_LABELS } from '../../labels';
import type { Compliance, Device } from '../../types';
import { useLoad } from '../../useLoad';

/**
 * Where the device's policy is (the API's `delivery`): waiting is never a failure — the phone has
 * the policy to apply, or is switched off — so it says when the phone was last seen.
 */
function DeliveryBadge({ device: d }: { device: Device }) {
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

export function Devices({ ministry }: { ministry: string }) {
  const [compliance, setCompliance] = useState<Compliance | ''>('non-compliant');
  const devices = useLoad(
    () => api.ministryDevices(ministry, compliance || undefined),
    `devices-${ministry}-${compliance}`,
  );
  return (
    <>
      <Select
        label="Conformité"
        nativeSelectProps={{ value: compliance, onChange: (e) => setCompliance(e.target.value as Compliance | '') }}
      >
        <option value="non-compliant">Non conformes</option>
        <option value="compliant">Conformes</option>
        <option value="unknown">Conformité inconnue</option>
        <option value="">Tous les appareils</option>
      </Select>
      <LoadState loaded={devices} what="les appareils">
        {(page) =>
          page.items.length === 0 ? (
            <p>Aucun appareil.</p>
          ) : (
            <Table
              caption={`Appareils (${page.items.length} affichés sur ${page.total})`}
              headers={['Appareil', 'Plateforme', 'Propriété', 'Conformité', 'Motif', 'Politique', 'Dernier contact']}
              data={page.items.map((d) => [
                `${d.displayName}${d.model ? ` (${d.model})` : ''}`,
                PLATFORM_LABELS[d.platform],
                OWNERSHIP_LABELS[d.ownership],
                <ComplianceBadge key="c" compliance={d.compliance} />,
                d.complianceReason ?? '—',
                <DeliveryBadge key="p" device={d} />,
                formatDateTime(d.lastSeenAt),
              ])}
            />
          )
        }
      </LoadState>
    </>
  );
}
