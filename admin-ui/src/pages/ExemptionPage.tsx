import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { useState } from 'react';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorAlert } from '../components/ErrorAlert';
import { LoadState } from '../components/LoadState';
import { ExemptionStatusBadge } from '../components/StatusBadge';
import { formatDate, formatDateTime } from '../labels';
import { href } from '../router';
import { useSession } from '../session';
import type { Exemption, Me } from '../types';
import { errorOf, useLoad } from '../useLoad';
import { canRenew } from './agent/MyRequests';
import { DecisionForm } from './approver/DecisionForm';

function Facts({ e }: { e: Exemption }) {
  const { ministryName } = useSession();
  const rows: [string, string][] = [
    ['Agent', `${e.agent.displayName} (${e.agent.email})`],
    ['Ministère', ministryName(e.ministry)],
    ['Appareil', e.device?.displayName ?? 'Tous ses appareils'],
    ['Demandée le', formatDateTime(e.requestedAt)],
    ['Durée demandée', `${e.requestedDays} jours`],
  ];
  if (e.validFrom && e.validUntil)
    rows.push(['Période', `du ${formatDate(e.validFrom)} au ${formatDate(e.validUntil)}`]);
  if (e.decidedBy) rows.push(['Décision', `${e.decidedBy.displayName}, le ${formatDateTime(e.decidedAt)}`]);
  if (e.decisionReason) rows.push(['Motif', e.decisionReason]);
  return (
    <dl className="fr-mb-3w">
      {rows.map(([k, v]) => (
        <div key={k} className="fr-grid-row fr-mb-1w">
          <dt className="fr-col-12 fr-col-md-3 fr-text--bold">{k}</dt>
          <dd className="fr-col-12 fr-col-md-9 fr-m-0">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * One exemption request (#/exemptions/<id>), the page notifications and emails link to: its owner
 * can cancel it while pending or renew it when it nears its end (?renew=1 puts that first); an
 * approver of its ministry decides it there.
 */
export function ExemptionPage({ id, me, renew }: { id: string; me: Me; renew: boolean }) {
  const loaded = useLoad(() => api.exemption(id), `exemption-${id}`);
  const { refreshCounts } = useSession();
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const approverOf = (ministry: string) => me.roles.some((r) => r.role === 'approver' && r.ministry === ministry);

  const act = async (what: () => Promise<unknown>, message: string) => {
    setError(undefined);
    setBusy(true);
    try {
      await what();
      setDone(message);
      loaded.reload();
      refreshCounts();
    } catch (err) {
      setError(errorOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (loaded.error instanceof ApiError && (loaded.error.status === 404 || loaded.error.status === 403)) {
    return (
      <>
        <h1>Demande de dérogation</h1>
        <ErrorAlert
          title={loaded.error.status === 404 ? 'Demande introuvable' : 'Accès refusé'}
          error={
            new Error(
              loaded.error.status === 404
                ? 'Aucune demande de dérogation ne correspond à ce lien : elle a peut-être été supprimée, ou le lien est incomplet.'
                : 'Cette demande concerne un autre ministère ou un autre agent : vous ne pouvez pas la consulter.',
            )
          }
        />
      </>
    );
  }
  return (
    <LoadState loaded={loaded} what="la demande">
      {(e) => {
        const mine = e.agent.id === me.id;
        return (
          <>
            <h1>
              Dérogation pour {e.app.name} <ExemptionStatusBadge status={e.status} />
            </h1>
            {done && <Alert className="fr-mb-3w" severity="success" role="status" small description={done} />}
            {error && <ErrorAlert title="L’action n’a pas abouti" error={error} onClose={() => setError(undefined)} />}
            {mine && renew && canRenew(e) && (
              <Alert
                className="fr-mb-3w"
                severity="warning"
                title="Cette dérogation arrive à échéance"
                description="Si le besoin demeure, demandez son renouvellement : la direction du numérique de votre ministère l’examinera."
              />
            )}
            <Facts e={e} />
            <h2 className="fr-h5">Justification</h2>
            <blockquote
              className="fr-mb-3w"
              style={{ borderLeft: '4px solid var(--border-default-blue-france)', paddingLeft: '1rem' }}
            >
              <p className="fr-mb-0">{e.justification}</p>
            </blockquote>
            {mine && (
              <ul className="fr-btns-group fr-btns-group--inline-md">
                {canRenew(e) && (
                  <li>
                    <Button
                      disabled={busy}
                      onClick={() =>
                        void act(
                          () => api.renewExemption(e.id),
                          `Demande de renouvellement pour ${e.app.name} envoyée.`,
                        )
                      }
                    >
                      Demander le renouvellement
                    </Button>
                  </li>
                )}
                {e.status === 'pending' && (
                  <li>
                    <ConfirmButton
                      label="Annuler ma demande"
                      confirmLabel="Confirmer l’annulation"
                      disabled={busy}
                      onConfirm={() => void act(() => api.cancelExemption(e.id), `Demande pour ${e.app.name} annulée.`)}
                    />
                  </li>
                )}
                <li>
                  <Button priority="secondary" linkProps={{ href: href('agent', 'demandes') }}>
                    Toutes mes demandes
                  </Button>
                </li>
              </ul>
            )}
            {!mine && e.status === 'pending' && approverOf(e.ministry) && (
              <>
                <h2 className="fr-h5">Décision</h2>
                <DecisionForm
                  exemption={e}
                  onDecided={(m) => {
                    setDone(m);
                    loaded.reload();
                    refreshCounts();
                  }}
                />
              </>
            )}
          </>
        );
      }}
    </LoadState>
  );
}
