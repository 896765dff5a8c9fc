import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { useState } from 'react';
import { api } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { ACTION_LABELS, formatDateTime } from '../../labels';
import type { PolicyDiff, PolicyRule, PolicyVersion, SavedPlan } from '../../types';
import { errorOf, useLoad } from '../../useLoad';
import { PlanReview } from './PlanReview';

function ruleText(r: PolicyRule): string {
  const ex =
    r.action === 'block'
      ? r.exemptable
        ? `, dérogation ${r.maxExemptionDays ?? '?'} j max`
        : ', sans dérogation'
      : '';
  return `${r.app} : ${ACTION_LABELS[r.action].toLowerCase()}${ex}${r.legalBasis ? ` (${r.legalBasis})` : ''}`;
}

function DiffView({ diff }: { diff: PolicyDiff }) {
  const empty = !diff.mode && !diff.description && diff.added.length + diff.removed.length + diff.changed.length === 0;
  return (
    <section
      className="fr-p-3w fr-mb-3w"
      style={{ background: 'var(--background-alt-grey)' }}
      aria-label={`Différences entre les versions ${diff.from} et ${diff.to}`}
    >
      <h3 className="fr-h6">
        De la version {diff.from} à la version {diff.to}
      </h3>
      {empty && <p>Aucune différence.</p>}
      {diff.mode && (
        <p>
          Mode : {diff.mode.from} → {diff.mode.to}
        </p>
      )}
      {diff.added.length > 0 && (
        <>
          <p className="fr-mb-1v">
            <strong>Règles ajoutées</strong>
          </p>
          <ul>
            {diff.added.map((r) => (
              <li key={r.app}>+ {ruleText(r)}</li>
            ))}
          </ul>
        </>
      )}
      {diff.removed.length > 0 && (
        <>
          <p className="fr-mb-1v">
            <strong>Règles retirées</strong>
          </p>
          <ul>
            {diff.removed.map((r) => (
              <li key={r.app}>− {ruleText(r)}</li>
            ))}
          </ul>
        </>
      )}
      {diff.changed.length > 0 && (
        <>
          <p className="fr-mb-1v">
            <strong>Règles modifiées</strong>
          </p>
          <ul>
            {diff.changed.map((c) => (
              <li key={c.app}>
                ~ {ruleText(c.from)} → {ruleText(c.to)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function History({
  scope,
  versions,
  onRolledBack,
}: {
  scope: string;
  versions: PolicyVersion[];
  onRolledBack: (m: string) => void;
}) {
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  const [from, setFrom] = useState(String(sorted[1]?.version ?? sorted[0]?.version ?? ''));
  const [to, setTo] = useState(String(sorted[0]?.version ?? ''));
  const [diff, setDiff] = useState<PolicyDiff>();
  const [error, setError] = useState<Error>();
  const [plan, setPlan] = useState<{ version: number; saved: SavedPlan }>();

  const compare = async () => {
    setError(undefined);
    try {
      setDiff(await api.policyDiff(scope, Number(from), Number(to)));
    } catch (err) {
      setError(errorOf(err));
    }
  };
  const rollback = async (version: number) => {
    setError(undefined);
    try {
      // A rollback is a change like any other: its plan (devices concerned) is reviewed, then applied, in stages if wanted.
      setPlan({ version, saved: await api.rollback(scope, version) });
    } catch (err) {
      setError(errorOf(err));
    }
  };
  const versionOptions = sorted.map((v) => (
    <option key={v.version} value={v.version}>
      Version {v.version}
    </option>
  ));

  if (plan) {
    return (
      <>
        <h3 className="fr-h5">Retour à la version {plan.version} : changements à appliquer</h3>
        <PlanReview
          saved={plan.saved}
          onDiscard={() => setPlan(undefined)}
          onApplied={(m) => {
            setPlan(undefined);
            onRolledBack(`Retour à la version ${plan.version} : ${m}`);
          }}
        />
      </>
    );
  }

  return (
    <>
      {error && <ErrorAlert error={error} onClose={() => setError(undefined)} />}
      <div className="fr-grid-row fr-grid-row--gutters fr-grid-row--bottom fr-mb-2w">
        <div className="fr-col-12 fr-col-md-4">
          <Select
            label="Comparer la version"
            nativeSelectProps={{ value: from, onChange: (e) => setFrom(e.target.value) }}
          >
            {versionOptions}
          </Select>
        </div>
        <div className="fr-col-12 fr-col-md-4">
          <Select label="à la version" nativeSelectProps={{ value: to, onChange: (e) => setTo(e.target.value) }}>
            {versionOptions}
          </Select>
        </div>
        <div className="fr-col-12 fr-col-md-4 fr-mb-3w">
          <Button priority="secondary" onClick={compare} disabled={!from || !to}>
            Comparer
          </Button>
        </div>
      </div>
      {diff && <DiffView diff={diff} />}
      <Table
        caption={`Versions de la politique « ${scope} » (${versions.length})`}
        headers={['Version', 'Date', 'Auteur', 'Commentaire', 'État', 'Action']}
        data={sorted.map((v) => [
          String(v.version),
          formatDateTime(v.createdAt),
          v.createdBy,
          `${v.comment ?? ''}${v.rolledBackFrom ? ` (retour à la version ${v.rolledBackFrom})` : ''}` || '—',
          v.current ? (
            <Badge key="c" small severity="success">
              En vigueur
            </Badge>
          ) : (
            '—'
          ),
          v.current ? (
            '—'
          ) : (
            <ConfirmButton
              key="r"
              label="Revenir à cette version"
              confirmLabel={`Prévisualiser le retour à la version ${v.version}`}
              onConfirm={() => rollback(v.version)}
            />
          ),
        ])}
      />
    </>
  );
}

export function Versions({ scope }: { scope: string }) {
  const versions = useLoad(() => api.policyVersions(scope), `versions-${scope}`);
  const [done, setDone] = useState<string>();
  return (
    <>
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
      <LoadState loaded={versions} what="l’historique des versions">
        {(list) => (
          <History
            scope={scope}
            versions={list}
            onRolledBack={(m) => {
              setDone(m);
              versions.reload();
            }}
          />
        )}
      </LoadState>
    </>
  );
}
