import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useEffect, useId, useState, type ReactNode } from 'react';
import { api, ApiError } from '../../api';
import type { DeviceCommand } from '../../client';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { ComplianceBadge } from '../../components/StatusBadge';
import {
  COMMAND_STATUS_LABELS,
  formatDate,
  formatDateTime,
  OWNERSHIP_LABELS,
  PLATFORM_LABELS,
  POLICY_MODE_LABELS,
} from '../../labels';
import { href } from '../../router';
import type { Device, EffectivePolicy } from '../../types';
import { reasonInFrench } from '../compliance/vocabulary';
import { errorOf, useLoad } from '../../useLoad';
import { DeliveryBadge } from './Devices';

/** Still for the phone to do: handed out again at its next check-in. */
const PENDING: DeviceCommand['status'][] = ['queued', 'sent', 'not-now'];

/** Label and value, two by two: a description list reads well at 390 px and on a screen reader. */
function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl
      className="fr-mb-2w"
      style={{ display: 'grid', gridTemplateColumns: 'minmax(8rem, max-content) 1fr', gap: '.25rem 1rem' }}
    >
      {items.map(([label, value]) => (
        <div key={label} style={{ display: 'contents' }}>
          <dt className="fr-text--bold fr-text--sm fr-mb-0">{label}</dt>
          <dd className="fr-text--sm fr-mb-0" style={{ marginLeft: 0, overflowWrap: 'anywhere' }}>
            {value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="fr-col-12 fr-col-lg-6" aria-labelledby={id}>
      <div className="fr-p-2w" style={{ border: '1px solid var(--border-default-grey)', height: '100%' }}>
        <h3 className="fr-h6" id={id}>
          {title}
        </h3>
        {children}
      </div>
    </section>
  );
}

/** Where the policy is, in a sentence: waiting is never a failure (the phone may be switched off). */
function deliverySentence(d: Device): string {
  switch (d.delivery) {
    case 'converged':
      return 'L’appareil applique la politique qu’il doit avoir.';
    case 'waiting':
      return d.lastPushAt
        ? `Envoyée le ${formatDateTime(d.lastPushAt)}, en attente du rapport de l’appareil (vu le ${formatDateTime(d.lastSeenAt)}).`
        : `En attente du rapport de l’appareil (dernier contact : ${formatDateTime(d.lastSeenAt)}).`;
    case 'retrying':
      return `L’envoi n’est pas passé (${d.pushAttempts} essai${d.pushAttempts > 1 ? 's' : ''}${
        d.pushError ? ` ; ${d.pushError}` : ''
      }) : nouvel essai automatique.`;
    case 'failed':
      return `Échec de l’envoi : ${d.pushError ?? 'erreur inconnue'}.`;
  }
}

function AppList({ names, empty }: { names: string[]; empty: string }) {
  if (names.length === 0) return <p className="fr-text--sm fr-mb-1w">{empty}</p>;
  return (
    <ul className="fr-text--sm fr-mb-1w">
      {names.map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  );
}

function PolicySummary({ policy }: { policy: EffectivePolicy }) {
  const blocked = policy.apps.filter((a) => a.action === 'block' && !a.liftedBy).map((a) => a.name);
  const required = policy.apps.filter((a) => a.action === 'require').map((a) => a.name);
  const lifted = policy.apps.filter((a) => a.liftedBy);
  return (
    <>
      <Facts
        items={[
          ['Mode', POLICY_MODE_LABELS[policy.mode]],
          ['Versions', `nationale v${policy.nationalVersion}, ministère v${policy.ministryVersion}`],
          ...(policy.minimumIos ? [['iOS minimum', policy.minimumIos] as [string, ReactNode]] : []),
        ]}
      />
      {blocked.length === 0 ? (
        <p className="fr-text--sm fr-mb-1w">Applications bloquées : aucune.</p>
      ) : (
        // Dozens of names: folded, one line when opened, so that the page stays short on a phone.
        <details className="fr-mb-1w">
          <summary className="fr-text--sm fr-text--bold">Applications bloquées ({blocked.length})</summary>
          <p className="fr-text--sm fr-mb-0">{blocked.join(', ')}</p>
        </details>
      )}
      <p className="fr-text--sm fr-text--bold fr-mb-0">Applications obligatoires ({required.length})</p>
      <AppList names={required} empty="Aucune." />
      <p className="fr-text--sm fr-text--bold fr-mb-0">Dérogations en vigueur ({lifted.length})</p>
      <AppList
        names={lifted.map((a) => `${a.name} (jusqu’au ${formatDate(a.liftedBy?.validUntil)})`)}
        empty="Aucune."
      />
    </>
  );
}

function Commands({ device }: { device: Device }) {
  const commands = useLoad(() => api.deviceCommands(device.id), `commands-${device.id}`, true);
  if (device.platform !== 'ios')
    return <p className="fr-text--sm">Les commandes Android passent par Google : rien n’attend ici.</p>;
  return (
    <LoadState loaded={commands} what="les commandes">
      {(c) => {
        const pending = c.items.filter((k) => PENDING.includes(k.status));
        const answered = c.items.filter((k) => !PENDING.includes(k.status)).slice(0, 5);
        return (
          <>
            <p className="fr-text--sm">
              Supervisé : {c.supervised === null ? 'pas encore connu' : c.supervised ? 'oui' : 'non'}
            </p>
            {pending.length === 0 ? (
              <p className="fr-text--sm">Aucune commande en attente.</p>
            ) : (
              <p className="fr-text--sm fr-text--bold fr-mb-0">À faire par l’appareil ({pending.length})</p>
            )}
            {pending.length > 0 && (
              <Table
                caption={`Commandes en attente : ${pending.length}`}
                noCaption
                headers={['Commande', 'État', 'Mise en file']}
                data={pending.map((k) => [k.requestType, COMMAND_STATUS_LABELS[k.status], formatDateTime(k.queuedAt)])}
              />
            )}
            {answered.length > 0 && <p className="fr-text--sm fr-text--bold fr-mb-0">Dernières réponses</p>}
            {answered.length > 0 && (
              <Table
                caption="Dernières réponses"
                noCaption
                headers={['Commande', 'Réponse', 'Le']}
                data={answered.map((k) => [
                  k.requestType,
                  k.error ? `${COMMAND_STATUS_LABELS[k.status]} : ${k.error}` : COMMAND_STATUS_LABELS[k.status],
                  formatDateTime(k.answeredAt ?? k.queuedAt),
                ])}
              />
            )}
          </>
        );
      }}
    </LoadState>
  );
}

/** Lock now, or retire (wipe a company phone, remove the work profile of a personal one): both confirmed. */
function Actions({ device, onDone }: { device: Device; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<Error>();
  const run = async (action: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    try {
      setDone(await action());
      onDone();
    } catch (e) {
      setError(errorOf(e));
    } finally {
      setBusy(false);
    }
  };
  if (device.unenrolledAt)
    return <p className="fr-text--sm">Appareil retiré le {formatDateTime(device.unenrolledAt)}.</p>;
  return (
    <>
      {done && <Alert className="fr-mb-2w" severity="success" small role="status" description={done} />}
      {error && <ErrorAlert title="L’action n’a pas abouti" error={error} onClose={() => setError(undefined)} />}
      <p className="fr-text--sm fr-mb-1w">Téléphone perdu : son écran se verrouille dès qu’il reçoit l’ordre.</p>
      <ConfirmButton
        label="Verrouiller l’écran"
        confirmLabel="Confirmer le verrouillage"
        disabled={busy}
        onConfirm={() => void run(async () => (await api.lockDevice(device.id), 'Verrouillage envoyé à l’appareil.'))}
      />
      <Input
        className="fr-mt-3w"
        label="Motif du retrait"
        hintText={
          device.ownership === 'company'
            ? 'Appareil de l’administration : il sera effacé. Le motif est enregistré.'
            : 'Appareil personnel : seul le profil professionnel est retiré. Le motif est affiché sur le téléphone.'
        }
        nativeInputProps={{ value: reason, maxLength: 200, onChange: (e) => setReason(e.target.value) }}
      />
      <ConfirmButton
        label="Retirer l’appareil"
        confirmLabel={device.ownership === 'company' ? 'Confirmer l’effacement' : 'Confirmer le retrait'}
        disabled={busy || reason.trim().length < 3}
        onConfirm={() =>
          void run(async () => {
            const r = await api.retireDevice(device.id, reason.trim());
            return r.wipe === 'full'
              ? 'Appareil retiré : effacement demandé.'
              : r.wipe === 'work-profile'
                ? 'Appareil retiré : profil professionnel supprimé.'
                : 'Appareil retiré du parc.';
          })
        }
      />
    </>
  );
}

/**
 * One phone, for its ministry's IT (#/informatique/appareils/<id>): what it is, why it is not
 * compliant, where its policy is and what it still has to do. Another ministry's phone is refused by
 * the API (403), and the page says so without showing anything of it.
 */
export function DevicePage({
  id,
  ministry,
  onMinistry,
}: {
  id: string;
  ministry: string;
  onMinistry: (code: string) => void;
}) {
  const device = useLoad(() => api.device(id), `device-${id}`);
  const policy = useLoad(() => api.deviceEffectivePolicy(id), `device-policy-${id}`, true);
  const shown = device.data?.ministryCode;
  // Catalog slug → name, from the device's own policy (its banned apps are in it).
  const appNames = new Map((policy.data?.apps ?? []).map((a) => [a.app, a.name]));
  // The list this page goes back to is the device's ministry's, when this IT holds it.
  useEffect(() => {
    if (shown && shown !== ministry) onMinistry(shown);
  }, [shown, ministry, onMinistry]);
  const back = (
    <p className="fr-mb-2w">
      <a className="fr-link fr-icon-arrow-left-line fr-link--icon-left" href={href('informatique', 'appareils')}>
        Retour à la liste des appareils
      </a>
    </p>
  );
  if (device.error instanceof ApiError && (device.error.status === 404 || device.error.status === 403)) {
    return (
      <>
        {back}
        <h2>{device.error.status === 404 ? 'Appareil introuvable' : 'Accès refusé'}</h2>
        <ErrorAlert
          title={device.error.status === 404 ? 'Aucun appareil à ce lien' : 'Cet appareil n’est pas de votre ministère'}
          error={
            new Error(
              device.error.status === 404
                ? 'Aucun appareil ne correspond à ce lien : il a peut-être été retiré, ou le lien est incomplet.'
                : 'Cet appareil appartient à un autre ministère : vous ne pouvez pas le consulter.',
            )
          }
        />
      </>
    );
  }
  return (
    <>
      {back}
      <LoadState loaded={device} what="l’appareil">
        {(d) => (
          <>
            <h2>
              {d.displayName} <ComplianceBadge compliance={d.compliance} />
            </h2>
            <div className="fr-grid-row fr-grid-row--gutters">
              <Card title="Appareil">
                <Facts
                  items={[
                    ['Plateforme', PLATFORM_LABELS[d.platform]],
                    ['Modèle', d.model ?? '—'],
                    ['Système', d.osVersion ?? '—'],
                    ['Propriété', OWNERSHIP_LABELS[d.ownership]],
                    ['Agent', d.agentId ? 'Attribué à un agent' : 'Non attribué (enrôlé par jeton du ministère)'],
                    ['Enrôlé le', formatDateTime(d.enrolledAt)],
                    ['Dernier contact', formatDateTime(d.lastSeenAt)],
                    ['Dernier rapport', d.reportedAt ? formatDateTime(d.reportedAt) : 'jamais'],
                    ...(d.platform === 'ios'
                      ? [
                          [
                            'Identité',
                            d.identityExpiresAt
                              ? `valable jusqu’au ${formatDate(d.identityExpiresAt)}, renouvelée automatiquement avant son expiration (sans réenrôlement)`
                              : '—',
                          ] as [string, ReactNode],
                        ]
                      : []),
                  ]}
                />
              </Card>
              <Card title="Conformité">
                <p className="fr-text--sm">
                  <ComplianceBadge compliance={d.compliance} /> évaluée le {formatDateTime(d.complianceAt)}
                </p>
                <p className="fr-text--sm fr-text--bold fr-mb-0">Motifs ({d.complianceReasons.length})</p>
                <AppList names={d.complianceReasons.map((r) => reasonInFrench(r, appNames))} empty="Aucun motif." />
                <p className="fr-text--sm fr-text--bold fr-mb-0">Applications interdites trouvées</p>
                <AppList names={d.bannedApps.map((a) => appNames.get(a) ?? a)} empty="Aucune au dernier rapport." />
                {d.policyErrors.length > 0 && (
                  <>
                    <p className="fr-text--sm fr-text--bold fr-mb-0">Ce que l’appareil n’a pas pu appliquer</p>
                    <AppList names={d.policyErrors} empty="" />
                  </>
                )}
              </Card>
              <Card title="Politique">
                <p className="fr-text--sm">
                  <DeliveryBadge device={d} />
                </p>
                <p className="fr-text--sm">{deliverySentence(d)}</p>
                <LoadState loaded={policy} what="la politique de l’appareil">
                  {(p) => <PolicySummary policy={p} />}
                </LoadState>
              </Card>
              <Card title="Commandes">
                <Commands device={d} />
              </Card>
              <Card title="Actions">
                <Actions device={d} onDone={device.reload} />
              </Card>
            </div>
          </>
        )}
      </LoadState>
    </>
  );
}
