import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useState } from 'react';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ScrollTable } from '../../components/ScrollTable';
import { plural, PLATFORM_LABELS } from '../../labels';
import type { ApplyRequest, SavedPlan } from '../../types';
import { errorOf, useLoad } from '../../useLoad';

const SIGN_LABELS = { '+': 'Ajout', '-': 'Retrait', '~': 'Modification' } as const;
const MODE_LABELS: Record<string, string> = {
  allowlist: 'liste d’autorisation',
  blocklist: 'liste de blocage',
  disallowed: 'usage personnel interdit',
};

/**
 * The plan's change details in French. The API writes them in the CLI's words ("blocked, not
 * exemptable", "exemptable ≤ 90 d", "identifiers a → b"); each known phrase is translated, the
 * rest (package names, numbers) kept as is.
 */
export function frenchDetail(detail: string): string {
  return detail
    .replace(/no longer blocked/g, 'n’est plus bloquée')
    .replace(/no longer required/g, 'n’est plus obligatoire')
    .replace(/allow-list entry changed/g, 'entrée de la liste d’autorisation modifiée')
    .replace(/, exemptable ≤ (\d+) d/g, ', dérogation possible ($1 jours au plus)')
    .replace(/, not exemptable/g, ', sans dérogation possible')
    .replace(/\bblocked\b/g, 'bloquée')
    .replace(/\brequired\b/g, 'obligatoire')
    .replace(/\ballowed\b/g, 'autorisée')
    .replace(/\bidentifiers\b/g, 'identifiants')
    .replace(/\(none\)/g, '(aucun)');
}

function PlanChanges({ saved }: { saved: SavedPlan }) {
  const catalog = useLoad(() => api.catalog(), 'catalog');
  const names = new Map((catalog.data ?? []).map((a) => [a.slug, a.name]));
  return (
    <>
      {saved.plan.policies
        .filter((p) => p.changes.length > 0 || p.modeChange || p.personalSideChange)
        .map((p) => (
          <div key={p.scope} className="fr-mt-2w">
            <h4 className="fr-h6 fr-mb-1w">
              Politique « {p.scope === 'national' ? 'socle national' : p.scope} » —{' '}
              {p.devicesAffected.toLocaleString('fr-FR')} appareil{p.devicesAffected > 1 ? 's' : ''} concerné
              {p.devicesAffected > 1 ? 's' : ''}
            </h4>
            {p.modeChange && (
              <p className="fr-text--sm">
                Mode : {MODE_LABELS[p.modeChange.from] ?? p.modeChange.from} →{' '}
                {MODE_LABELS[p.modeChange.to] ?? p.modeChange.to}
              </p>
            )}
            {p.personalSideChange && (
              <p className="fr-text--sm">
                Partie personnelle des appareils de l’administration :{' '}
                {MODE_LABELS[p.personalSideChange.from] ?? p.personalSideChange.from} →{' '}
                {MODE_LABELS[p.personalSideChange.to] ?? p.personalSideChange.to}
              </p>
            )}
            {p.changes.length > 0 && (
              <ScrollTable
                caption={`Changements de la politique « ${p.scope} »`}
                noCaption
                headers={['Changement', 'Application', 'Plateforme', 'Détail', 'Identifiants']}
                data={p.changes.map((c) => [
                  SIGN_LABELS[c.sign],
                  names.get(c.app) ?? c.app,
                  PLATFORM_LABELS[c.platform],
                  frenchDetail(c.detail),
                  c.identifiers.join(', ') || '—',
                ])}
              />
            )}
          </div>
        ))}
    </>
  );
}

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
          description={`${plural(s.added, 'ajout', 'ajouts')}, ${plural(s.removed, 'retrait', 'retraits')}, ${plural(s.changed, 'modification', 'modifications')}, plateformes Android et iOS comprises.`}
        />
      )}
      <PlanChanges saved={saved} />
      <details className="fr-mt-2w">
        <summary>Texte du plan (tel que l’affiche la ligne de commande)</summary>
        <pre
          className="fr-p-2w fr-mt-1w"
          style={{ background: 'var(--background-alt-grey)', overflowX: 'auto', whiteSpace: 'pre-wrap' }}
          aria-label="Texte du plan"
        >
          {saved.text}
        </pre>
      </details>
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
          {/* A rollback was never edited: going back means not rolling back. */}
          {saved.plan.rolledBackFrom !== undefined ? 'Annuler le retour arrière' : 'Revenir à l’édition'}
        </Button>
      </div>
    </section>
  );
}
