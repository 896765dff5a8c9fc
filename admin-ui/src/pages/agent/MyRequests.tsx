import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { useState } from 'react';
import { api } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { ExemptionStatusBadge } from '../../components/StatusBadge';
import { daysUntil, formatDate } from '../../labels';
import type { Exemption } from '../../types';
import { errorOf, useLoad } from '../../useLoad';

const RENEWAL_WINDOW_DAYS = 14;

export function canRenew(e: Exemption, now: number = Date.now()): boolean {
  return e.status === 'approved' && e.validUntil !== null && daysUntil(e.validUntil, now) <= RENEWAL_WINDOW_DAYS;
}

function period(e: Exemption): string {
  if (e.validFrom && e.validUntil) return `du ${formatDate(e.validFrom)} au ${formatDate(e.validUntil)}`;
  return `${e.approvedDays ?? e.requestedDays} jours demandés`;
}

export function MyRequests() {
  const list = useLoad(() => api.myExemptions(), 'my-exemptions');
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState<string>();

  const act = async (e: Exemption, what: 'cancel' | 'renew') => {
    setError(undefined);
    setDone(undefined);
    setBusy(e.id);
    try {
      if (what === 'cancel') await api.cancelExemption(e.id);
      else await api.renewExemption(e.id);
      setDone(
        what === 'cancel'
          ? `Demande pour ${e.app.name} annulée.`
          : `Demande de renouvellement pour ${e.app.name} envoyée.`,
      );
      list.reload();
    } catch (err) {
      setError(errorOf(err));
    } finally {
      setBusy(undefined);
    }
  };

  const actions = (e: Exemption) => (
    <span style={{ display: 'inline-flex', gap: '.5rem', flexWrap: 'wrap' }}>
      {e.status === 'pending' && (
        <ConfirmButton
          label="Annuler"
          confirmLabel="Confirmer l’annulation"
          disabled={busy === e.id}
          onConfirm={() => act(e, 'cancel')}
        />
      )}
      {canRenew(e) && (
        <Button size="small" disabled={busy === e.id} onClick={() => act(e, 'renew')}>
          Renouveler
        </Button>
      )}
    </span>
  );

  return (
    <>
      {error && <ErrorAlert title="L’action n’a pas abouti" error={error} onClose={() => setError(undefined)} />}
      {done && (
        <Alert
          className="fr-mb-3w"
          severity="success"
          role="status"
          small
          description={done}
          closable
          onClose={() => setDone(undefined)}
        />
      )}
      <LoadState loaded={list} what="vos demandes">
        {(items) =>
          items.length === 0 ? (
            <p>Vous n’avez fait aucune demande de dérogation.</p>
          ) : (
            <Table
              caption="Mes demandes de dérogation"
              headers={['Application', 'Appareil', 'Statut', 'Demandée le', 'Période', 'Décision', 'Actions']}
              data={items.map((e) => [
                e.app.name,
                e.device?.displayName ?? 'Tous mes appareils',
                <ExemptionStatusBadge key="s" status={e.status} />,
                formatDate(e.requestedAt),
                period(e),
                e.decisionReason
                  ? `${e.decidedBy?.displayName ?? ''} : ${e.decisionReason}`
                  : (e.decidedBy?.displayName ?? '—'),
                actions(e),
              ])}
            />
          )
        }
      </LoadState>
    </>
  );
}
