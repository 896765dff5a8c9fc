import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useState } from 'react';
import { api, ApiError } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { Exemption } from '../../types';
import { errorOf } from '../../useLoad';

/** Approve (possibly for fewer days) or deny (a reason is required) one pending request. */
export function DecisionForm({ exemption, onDecided }: { exemption: Exemption; onDecided: (message: string) => void }) {
  const [days, setDays] = useState('');
  const [reason, setReason] = useState('');
  const [daysError, setDaysError] = useState<string>();
  const [reasonError, setReasonError] = useState<string>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const id = exemption.id;

  const run = async (what: 'approve' | 'deny') => {
    setError(undefined);
    setDaysError(undefined);
    setReasonError(undefined);
    if (what === 'approve' && days) {
      const n = Number(days);
      if (!Number.isInteger(n) || n < 1 || n > exemption.requestedDays) {
        setDaysError(
          `Indiquez un nombre entier de jours entre 1 et ${exemption.requestedDays}, ou laissez vide pour accorder la durée demandée.`,
        );
        return;
      }
    }
    if (what === 'deny' && reason.trim().length < 5) {
      setReasonError('Le refus doit être motivé (5 caractères au moins).');
      return;
    }
    setBusy(true);
    try {
      if (what === 'approve') await api.approveExemption(id, days ? Number(days) : undefined);
      else await api.denyExemption(id, reason.trim());
      onDecided(
        `${what === 'approve' ? 'Dérogation accordée' : 'Demande refusée'} : ${exemption.app.name} pour ${exemption.agent.displayName}.`,
      );
    } catch (err) {
      const e = errorOf(err);
      const field = e instanceof ApiError ? e.fieldIn(['days', 'reason'] as const) : null;
      if (field === 'days') setDaysError(e.message);
      else if (field === 'reason') setReasonError(e.message);
      else setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      {error && (
        <ErrorAlert title="La décision n’a pas été enregistrée" error={error} onClose={() => setError(undefined)} />
      )}
      <div className="fr-grid-row fr-grid-row--gutters">
        <div className="fr-col-12 fr-col-md-4">
          <Input
            label="Durée accordée (jours, facultatif)"
            hintText={`Vide : les ${exemption.requestedDays} jours demandés.`}
            state={daysError ? 'error' : 'default'}
            stateRelatedMessage={daysError}
            nativeInputProps={{
              id: `days-${id}`,
              type: 'number',
              min: 1,
              max: exemption.requestedDays,
              value: days,
              onChange: (e) => setDays(e.target.value),
            }}
          />
          <Button disabled={busy} iconId="fr-icon-check-line" onClick={() => run('approve')}>
            Approuver
          </Button>
        </div>
        <div className="fr-col-12 fr-col-md-8">
          <Input
            label="Motif du refus"
            hintText="Obligatoire pour refuser ; communiqué à l’agent."
            textArea
            state={reasonError ? 'error' : 'default'}
            stateRelatedMessage={reasonError}
            nativeTextAreaProps={{
              id: `reason-${id}`,
              rows: 2,
              value: reason,
              onChange: (e) => setReason(e.target.value),
            }}
          />
          <Button disabled={busy} priority="secondary" iconId="fr-icon-close-line" onClick={() => run('deny')}>
            Refuser
          </Button>
        </div>
      </div>
    </div>
  );
}
