import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Table } from '@codegouvfr/react-dsfr/Table';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { ComplianceBadge } from '../../components/StatusBadge';
import { formatDate, formatDateTime, OWNERSHIP_LABELS, PLATFORM_LABELS } from '../../labels';
import type { Device, EffectiveApp } from '../../types';
import { useLoad } from '../../useLoad';

function RuleBadge({ app }: { app: EffectiveApp }) {
  if (app.liftedBy)
    return (
      <Badge small severity="info">
        Dérogation jusqu’au {formatDate(app.liftedBy.validUntil)}
      </Badge>
    );
  if (app.action === 'require')
    return (
      <Badge small severity="success">
        Obligatoire
      </Badge>
    );
  return (
    <Badge small severity="error">
      Bloquée
    </Badge>
  );
}

function exemptionText(app: EffectiveApp): string {
  if (app.action !== 'block') return '—';
  return app.exemptable ? `Possible${app.maxExemptionDays ? `, ${app.maxExemptionDays} jours au plus` : ''}` : 'Non';
}

function DevicePolicy({ device }: { device: Device }) {
  const policy = useLoad(() => api.deviceEffectivePolicy(device.id), device.id);
  return (
    <LoadState loaded={policy} what="la politique de cet appareil">
      {(p) => {
        const apps = p.apps.filter((a) => a.action === 'block' || a.action === 'require' || a.liftedBy);
        const mode =
          p.mode === 'allowlist' ? 'Liste d’autorisation : toute application absente de la liste est bloquée.' : null;
        return (
          <>
            {mode && <p className="fr-text--sm">{mode}</p>}
            <Table
              caption={`Applications bloquées ou obligatoires sur « ${device.displayName} »`}
              headers={['Application', 'Règle', 'Fondement juridique', 'Dérogation']}
              data={apps.map((a) => [a.name, <RuleBadge key="r" app={a} />, a.legalBasis[0] ?? '—', exemptionText(a)])}
              fixed
            />
            <p className="fr-text--xs">
              Socle national version {p.nationalVersion}, politique du ministère version {p.ministryVersion}.
            </p>
          </>
        );
      }}
    </LoadState>
  );
}

function DeviceCard({ device }: { device: Device }) {
  return (
    <section className="fr-mb-6w" aria-labelledby={`device-${device.id}`}>
      <h2 id={`device-${device.id}`} className="fr-h4">
        {device.displayName}
      </h2>
      <ul className="fr-badges-group fr-mb-1w">
        <li>
          <Badge small>{PLATFORM_LABELS[device.platform]}</Badge>
        </li>
        <li>
          <Badge small>{OWNERSHIP_LABELS[device.ownership]}</Badge>
        </li>
        <li>
          <ComplianceBadge compliance={device.compliance} />
        </li>
        <li>
          <Badge small severity={device.converged ? 'success' : 'info'}>
            {device.converged ? 'Politique appliquée' : 'Politique en cours d’application'}
          </Badge>
        </li>
      </ul>
      <p className="fr-text--sm fr-mb-2w">
        {device.model ?? 'Modèle inconnu'} · enrôlé le {formatDate(device.enrolledAt)} · dernier contact{' '}
        {formatDateTime(device.lastSeenAt)}
        {device.complianceReason && (
          <>
            <br />
            Motif de non-conformité : {device.complianceReason}
          </>
        )}
      </p>
      <DevicePolicy device={device} />
    </section>
  );
}

export function MyDevices() {
  const devices = useLoad(() => api.myDevices(), 'my-devices');
  return (
    <LoadState loaded={devices} what="vos appareils">
      {(list) =>
        list.length === 0 ? (
          <p>Aucun téléphone professionnel n’est enrôlé à votre nom.</p>
        ) : (
          list.map((d) => <DeviceCard key={d.id} device={d} />)
        )
      }
    </LoadState>
  );
}
