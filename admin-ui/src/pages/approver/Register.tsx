import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { useState } from 'react';
import { api, exemptionRegisterCsvUrl } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { formatDate } from '../../labels';
import type { Exemption } from '../../types';
import { errorOf, useLoad } from '../../useLoad';

function RevokeForm({
  e,
  onDone,
  onError,
}: {
  e: Exemption;
  onDone: (m: string) => void;
  onError: (err: Error) => void;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [fieldError, setFieldError] = useState<string>();
  if (!open) {
    return (
      <Button size="small" priority="secondary" onClick={() => setOpen(true)}>
        Révoquer
      </Button>
    );
  }
  const submit = async () => {
    if (reason.trim().length < 5) {
      setFieldError('La révocation doit être motivée (5 caractères au moins).');
      return;
    }
    try {
      await api.revokeExemption(e.id, reason.trim());
      onDone(`Dérogation de ${e.agent.displayName} pour ${e.app.name} révoquée.`);
    } catch (err) {
      onError(errorOf(err));
    }
  };
  return (
    <div>
      <Input
        label="Motif de la révocation"
        state={fieldError ? 'error' : 'default'}
        stateRelatedMessage={fieldError}
        nativeInputProps={{ value: reason, onChange: (ev) => setReason(ev.target.value) }}
      />
      <span style={{ display: 'inline-flex', gap: '.5rem' }}>
        <Button size="small" onClick={submit}>
          Confirmer la révocation
        </Button>
        <Button size="small" priority="tertiary" onClick={() => setOpen(false)}>
          Ne rien faire
        </Button>
      </span>
    </div>
  );
}

export function Register({ ministry }: { ministry: string }) {
  const register = useLoad(() => api.exemptionRegister(ministry), `register-${ministry}`);
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<string>();
  return (
    <>
      <p>
        Dérogations actives du ministère : qui détient quelle application, pourquoi, accordée par qui, jusqu’à quand.
      </p>
      <Button
        className="fr-mb-3w"
        priority="secondary"
        iconId="fr-icon-download-line"
        linkProps={{ href: exemptionRegisterCsvUrl(ministry), download: `registre-derogations-${ministry}.csv` }}
      >
        Exporter le registre (CSV)
      </Button>
      {error && <ErrorAlert title="La révocation n’a pas abouti" error={error} onClose={() => setError(undefined)} />}
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
      <LoadState loaded={register} what="le registre">
        {(items) =>
          items.length === 0 ? (
            <p>Aucune dérogation active.</p>
          ) : (
            <Table
              caption={`Registre des dérogations actives (${items.length})`}
              headers={[
                'Agent',
                'Application',
                'Appareil',
                'Justification',
                'Accordée par',
                'Valide jusqu’au',
                'Action',
              ]}
              data={items.map((e) => [
                `${e.agent.displayName} (${e.agent.email})`,
                e.app.name,
                e.device?.displayName ?? 'Tous',
                e.justification,
                e.decidedBy?.displayName ?? '—',
                formatDate(e.validUntil),
                <RevokeForm
                  key="r"
                  e={e}
                  onError={setError}
                  onDone={(m) => {
                    setDone(m);
                    register.reload();
                  }}
                />,
              ])}
            />
          )
        }
      </LoadState>
    </>
  );
}
