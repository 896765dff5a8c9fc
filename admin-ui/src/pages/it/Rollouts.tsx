import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { useState } from 'react';
import { api } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { Legend, SEGMENT_COLORS, StackedBar, type Segment } from '../../components/StackedBar';
import { RolloutStatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../labels';
import type { Rollout, RolloutStatus, StageProgress } from '../../types';
import { errorOf, useAutoReload, useLoad } from '../../useLoad';

const LEGEND: Pick<Segment, 'label' | 'color' | 'pattern'>[] = [
  { label: 'appliqués', color: SEGMENT_COLORS.converged },
  { label: 'en attente', color: SEGMENT_COLORS.pending },
  { label: 'en échec', color: SEGMENT_COLORS.failed, pattern: 'hatched' },
  { label: 'retenus', color: SEGMENT_COLORS.held },
];

function segments(p: Omit<StageProgress, 'stage' | 'percent' | 'released'>): Segment[] {
  return [
    { label: 'appliqués', value: p.converged, color: SEGMENT_COLORS.converged },
    { label: 'en attente', value: p.pending, color: SEGMENT_COLORS.pending },
    { label: 'en échec', value: p.failed, color: SEGMENT_COLORS.failed, pattern: 'hatched' },
    { label: 'retenus', value: p.held, color: SEGMENT_COLORS.held },
  ];
}

/** How often a rollout still moving is read again. */
const REFRESH_MS = 3000;
const FINISHED = new Set<RolloutStatus>(['completed', 'aborted', 'superseded']);

/**
 * Pause, resume, release the next stage now, or abort: the API's controls (as in the CLI), each
 * audited with the reason given. Aborting asks first.
 */
function Controls({ rollout, onDone }: { rollout: Rollout; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<string>();
  // An abort ends the rollout: its controls go, but the confirmation that it was aborted stays.
  const finished = FINISHED.has(rollout.status);
  if (finished && !done) return null;
  const run = async (what: () => Promise<unknown>, message: string) => {
    setError(undefined);
    setDone(undefined);
    setBusy(true);
    try {
      await what();
      setDone(message);
      setReason('');
      onDone();
    } catch (err) {
      setError(errorOf(err));
    } finally {
      setBusy(false);
    }
  };
  const why = reason.trim() || undefined;
  const lastStage = rollout.stageIndex >= rollout.stages.length - 1;
  return (
    <div className="fr-mb-3w">
      {error && <ErrorAlert title="L’action n’a pas abouti" error={error} onClose={() => setError(undefined)} />}
      {done && <Alert className="fr-mb-2w" severity="success" role="status" small description={done} />}
      {!finished && (
        <>
          <Input
            label="Motif (facultatif, consigné au journal)"
            nativeInputProps={{ value: reason, onChange: (e) => setReason(e.target.value), maxLength: 500 }}
          />
          <ul className="fr-btns-group fr-btns-group--inline-sm">
            {rollout.status === 'paused' ? (
              <li>
                <Button
                  size="small"
                  iconId="fr-icon-play-line"
                  disabled={busy}
                  onClick={() => void run(() => api.resumeRollout(rollout.id), 'Déploiement repris.')}
                >
                  Reprendre
                </Button>
              </li>
            ) : (
              <li>
                <Button
                  size="small"
                  priority="secondary"
                  iconId="fr-icon-pause-circle-line"
                  disabled={busy}
                  onClick={() => void run(() => api.pauseRollout(rollout.id, why), 'Déploiement mis en pause.')}
                >
                  Mettre en pause
                </Button>
              </li>
            )}
            {!lastStage && rollout.status !== 'paused' && (
              <li>
                <Button
                  size="small"
                  priority="secondary"
                  iconId="fr-icon-arrow-right-line"
                  disabled={busy}
                  onClick={() =>
                    void run(
                      () => api.advanceRollout(rollout.id),
                      `Étape ${rollout.stageIndex + 2} (${rollout.stages[rollout.stageIndex + 1]} %) libérée.`,
                    )
                  }
                >
                  Libérer l’étape suivante
                </Button>
              </li>
            )}
            <li>
              <ConfirmButton
                label="Abandonner le déploiement"
                confirmLabel="Confirmer l’abandon"
                disabled={busy}
                onConfirm={() =>
                  void run(
                    () => api.abortRollout(rollout.id, why),
                    'Déploiement abandonné : les appareils pas encore servis restent sur la politique précédente.',
                  )
                }
              />
            </li>
          </ul>
        </>
      )}
    </div>
  );
}

function RolloutDetail({ id, onChanged }: { id: string; onChanged: () => void }) {
  const rollout = useLoad(() => api.rollout(id), `rollout-${id}`);
  const live = rollout.data !== undefined && !FINISHED.has(rollout.data.status);
  useAutoReload(rollout.reload, REFRESH_MS, live);
  return (
    <LoadState loaded={rollout} what="l’avancement du déploiement">
      {(r) => (
        <section className="fr-mt-3w" aria-labelledby={`rollout-${r.id}`}>
          <h3 id={`rollout-${r.id}`} className="fr-h5">
            Déploiement « {r.scope} » — <RolloutStatusBadge status={r.status} />
          </h3>
          <p className="fr-text--sm">
            {r.reason} · lancé le {formatDateTime(r.createdAt)} par {r.createdBy} · étape {r.stageIndex + 1} sur{' '}
            {r.stages.length}
            {r.nextStageAt && ` · prochaine étape le ${formatDateTime(r.nextStageAt)}`}
            {r.pauseReason && ` · en pause : ${r.pauseReason}`}
            {r.supersededBy &&
              ` · remplacé le ${formatDateTime(r.finishedAt)} par un changement plus récent de la même politique`}
          </p>
          <Controls
            rollout={r}
            onDone={() => {
              rollout.reload();
              onChanged();
            }}
          />
          <Legend segments={LEGEND} />
          {(r.progress ?? []).map((p) => (
            <StackedBar
              key={p.stage}
              label={`Étape ${p.stage + 1} (${p.percent} %)${p.released ? '' : ', non libérée'}`}
              segments={segments(p)}
              total={p.devices}
            />
          ))}
          {r.totals && <StackedBar label="Total" segments={segments(r.totals)} total={r.totals.devices} />}
          <p className="fr-text--xs">{live ? 'Actualisé automatiquement toutes les 3 secondes.' : null}</p>
          <Button size="small" priority="tertiary" iconId="fr-icon-refresh-line" onClick={rollout.reload}>
            Actualiser
          </Button>
        </section>
      )}
    </LoadState>
  );
}

function List({ rollouts, onChanged }: { rollouts: Rollout[]; onChanged: () => void }) {
  const [selected, setSelected] = useState(rollouts[0]?.id);
  if (rollouts.length === 0 && !selected) return <p>Aucun déploiement en cours.</p>;
  return (
    <>
      <Table
        caption={`Déploiements en cours (${rollouts.length})`}
        headers={['Politique', 'Motif', 'État', 'Étapes', 'Lancé le', 'Détail']}
        data={rollouts.map((r) => [
          r.scope,
          r.reason,
          <RolloutStatusBadge key="s" status={r.status} />,
          r.stages.map((s) => `${s} %`).join(' → '),
          formatDateTime(r.createdAt),
          <Button
            key="d"
            size="small"
            priority={r.id === selected ? 'primary' : 'secondary'}
            onClick={() => setSelected(r.id)}
            nativeButtonProps={{ 'aria-pressed': r.id === selected }}
          >
            Voir l’avancement
          </Button>,
        ])}
      />
      {selected && <RolloutDetail key={selected} id={selected} onChanged={onChanged} />}
    </>
  );
}

/** The latest finished rollouts; `refresh` changes when a control ended one. */
function History({ refresh }: { refresh: number }) {
  const all = useLoad(() => api.rollouts(false), `rollouts-all-${refresh}`);
  return (
    <LoadState loaded={all} what="l’historique des déploiements">
      {(list) => {
        const reasons = new Map(list.map((r) => [r.id, r.reason]));
        const done = list
          .filter((r) => FINISHED.has(r.status))
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
          .slice(0, 20);
        return done.length === 0 ? null : (
          <Table
            caption="Derniers déploiements terminés"
            headers={['Politique', 'Motif', 'État', 'Étapes', 'Lancé le', 'Fini le']}
            data={done.map((r) => [
              r.scope,
              r.supersededBy
                ? `${r.reason} (remplacé par « ${reasons.get(r.supersededBy) ?? 'un changement plus récent'} »)`
                : r.reason,
              <RolloutStatusBadge key="s" status={r.status} />,
              r.stages.map((s) => `${s} %`).join(' → '),
              formatDateTime(r.createdAt),
              formatDateTime(r.finishedAt),
            ])}
          />
        );
      }}
    </LoadState>
  );
}

export function Rollouts() {
  const rollouts = useLoad(() => api.rollouts(true), 'rollouts-active');
  const [changes, setChanges] = useState(0);
  useAutoReload(rollouts.reload, REFRESH_MS, (rollouts.data?.length ?? 0) > 0);
  const changed = () => {
    rollouts.reload();
    setChanges((n) => n + 1);
  };
  return (
    <>
      <LoadState loaded={rollouts} what="les déploiements">
        {(list) => <List rollouts={list} onChanged={changed} />}
      </LoadState>
      <History refresh={changes} />
    </>
  );
}
