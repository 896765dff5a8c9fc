import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { useState } from 'react';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { ComplianceBadge } from '../../components/StatusBadge';
import { formatDateTime, OWNERSHIP_LABELS, PLATFORM_LABELS } from '../../labels';
import type { Compliance } from '../../types';
import { useLoad } from '../../useLoad';

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
                d.pushState === 'failed' ? (
                  <Badge key="p" small severity="error">
                    Échec : {d.pushError ?? 'inconnu'}
                  </Badge>
                ) : (
                  <Badge key="p" small severity={d.converged ? 'success' : 'info'}>
                    {d.converged ? 'Appliquée' : 'En attente'}
                  </Badge>
                ),
                formatDateTime(d.lastSeenAt),
              ])}
            />
          )
        }
      </LoadState>
    </>
  );
}
