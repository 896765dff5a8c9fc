import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useState } from 'react';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { ApplyRequest, SavedPlan } from '../../types';
import { errorOf } from '../../useLoad';

function parseStages(text: string): number[] | null {
  if (!text.trim()) return [];
  const list = text
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map(Number);
  const ok =
    list.every((p, i) => Number.isInteger(p) && p >= 1 && p <= 100 && (i === 0 || p > (list[i - 1] ?? 0))) &&
    list[list.length - 1] === 100;
  return ok ? list : null;
}

/** The saved plan as the API renders it, the devices it touches, and "Appliquer" with optional stages. */
export function PlanReview({
  saved,
  onApplied,
  onDiscard,
}: {
  saved: SavedPlan;
  onApplied: (message: string) => void;
  onDiscard: () => void;
}) {
  const [stages, setStages] = useState('');
  const [wait, setWait] = useState('60');
  const [stagesError, setStagesError] = useState<string>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const s = saved.plan.summary;

  const apply = async () => {
    setError(undefined);
    const list = parseStages(stages);
    if (list === null) {
      setStagesError(
        'Saisissez des pourcentages croissants, séparés par des virgules, se terminant par 100 (par exemple 1, 10, 100).',
      );
      return;
    }
    setStagesError(undefined);
    const body: ApplyRequest = list.length > 0 ? { stages: list, stageWaitMinutes: Number(wait) || 0 } : {};
    setBusy(true);
    try {
      await api.applyPlan(saved.id, body);
      onApplied(
        list.length > 0
          ? `Changement appliqué ; déploiement progressif par étapes de ${list.join(' %, ')} %.`
          : 'Changement appliqué à tous les appareils concernés.',
      );
    } catch (err) {
      setError(errorOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="fr-mt-4w" aria-labelledby="plan-title">
      <h3 id="plan-title">Prévisualisation</h3>
      {!s.hasChanges ? (
        <Alert
          severity="info"
          title="Aucun changement"
          description="La politique proposée est identique à la politique en vigueur."
        />
      ) : (
        <Alert
          severity="warning"
          title={`${s.devicesAffected.toLocaleString('fr-FR')} appareil${s.devicesAffected > 1 ? 's' : ''} concerné${s.devicesAffected > 1 ? 's' : ''} sur ${s.devicesTotal.toLocaleString('fr-FR')}`}
          description={`${s.added} ajout(s), ${s.removed} retrait(s), ${s.changed} modification(s), plateformes Android et iOS comprises.`}
        />
      )}
      <pre
        className="fr-p-2w fr-mt-2w"
        style={{ background: 'var(--background-alt-grey)', overflowX: 'auto', whiteSpace: 'pre-wrap' }}
        aria-label="Texte du plan"
      >
        {saved.text}
      </pre>
      {error && <ErrorAlert title="Le plan n’a pas été appliqué" error={error} onClose={() => setError(undefined)} />}
      {s.hasChanges && (
        <div className="fr-grid-row fr-grid-row--gutters">
          <div className="fr-col-12 fr-col-md-6">
            <Input
              label="Déploiement progressif (facultatif)"
              hintText="Pourcentages cumulés d’appareils, par exemple 1, 10, 100. Vide : tous les appareils d’un coup."
              state={stagesError ? 'error' : 'default'}
              stateRelatedMessage={stagesError}
              nativeInputProps={{ value: stages, onChange: (e) => setStages(e.target.value) }}
            />
          </div>
          <div className="fr-col-12 fr-col-md-6">
            <Input
              label="Attente entre deux étapes (minutes)"
              nativeInputProps={{
                type: 'number',
                min: 0,
                max: 10080,
                value: wait,
                onChange: (e) => setWait(e.target.value),
              }}
            />
          </div>
        </div>
      )}
      <div style={{ display: 'flex', gap: '1rem', flexWrap: 'wrap' }}>
        {s.hasChanges && (
          <Button disabled={busy} iconId="fr-icon-check-line" onClick={apply}>
            {busy ? 'Application…' : 'Appliquer'}
          </Button>
        )}
        <Button priority="secondary" onClick={onDiscard}>
          Revenir à l’édition
        </Button>
      </div>
    </section>
  );
}
