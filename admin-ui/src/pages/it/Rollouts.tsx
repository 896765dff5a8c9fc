import { Button } from '@codegouvfr/react-dsfr/Button';
import { Table } from '@codegouvfr/react-dsfr/Table';
import { useState } from 'react';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { Legend, SEGMENT_COLORS, StackedBar, type Segment } from '../../components/StackedBar';
import { RolloutStatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../labels';
import type { Rollout, RolloutStatus, StageProgress } from '../../types';
import { useAutoReload, useLoad } from '../../useLoad';

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
const FINISHED = new Set<RolloutStatus>(['completed', 'aborted']);

function RolloutDetail({ id }: { id: string }) {
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
          </p>
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

function List({ rollouts }: { rollouts: Rollout[] }) {
  const [selected, setSelected] = useState(rollouts[0]?.id);
  if (rollouts.length === 0) return <p>Aucun déploiement en cours.</p>;
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
      {selected && <RolloutDetail key={selected} id={selected} />}
    </>
  );
}

export function Rollouts() {
  const rollouts = useLoad(() => api.rollouts(true), 'rollouts-active');
  useAutoReload(rollouts.reload, REFRESH_MS, (rollouts.data?.length ?? 0) > 0);
  return (
    <LoadState loaded={rollouts} what="les déploiements">
      {(list) => <List rollouts={list} />}
    </LoadState>
  );
}
