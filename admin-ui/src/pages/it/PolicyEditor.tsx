import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useState } from 'react';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { formatDateTime } from '../../labels';
import type { CatalogApp, EffectivePolicy, PolicyRule, PolicyVersion, SavedPlan } from '../../types';
import { errorOf, useLoad } from '../../useLoad';
import { AddRuleForm } from './AddRuleForm';
import { PlanReview } from './PlanReview';
import { InheritedRules, MinistryRules } from './RuleTables';

interface Loaded {
  policy: PolicyVersion;
  effective: EffectivePolicy;
  catalog: CatalogApp[];
}

function Editor({ ministry, data, onApplied }: { ministry: string; data: Loaded; onApplied: (m: string) => void }) {
  const content = data.policy.content ?? { mode: data.policy.mode, rules: [] };
  const [rules, setRules] = useState<PolicyRule[]>(content.rules);
  const [comment, setComment] = useState('');
  const [plan, setPlan] = useState<SavedPlan>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const names = new Map(data.catalog.map((a) => [a.slug, a.name]));
  const catalog = [...data.catalog].sort((a, b) => a.name.localeCompare(b.name, 'fr'));

  const preview = async () => {
    setError(undefined);
    setBusy(true);
    try {
      const body = {
        mode: content.mode,
        ...(content.description ? { description: content.description } : {}),
        rules,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
      };
      setPlan(await api.planPolicy(ministry, body));
    } catch (err) {
      setError(errorOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (plan) return <PlanReview saved={plan} onDiscard={() => setPlan(undefined)} onApplied={onApplied} />;

  return (
    <>
      <p>
        Version {data.policy.version} du {formatDateTime(data.policy.createdAt)} par {data.policy.createdBy} · mode{' '}
        {content.mode === 'allowlist' ? 'liste d’autorisation' : 'liste de blocage'}.
        {content.description && <> {content.description}</>}
      </p>
      <InheritedRules apps={data.effective.apps} />
      <h2 className="fr-h4 fr-mt-4w">Règles du ministère</h2>
      <p className="fr-text--sm">
        Le ministère peut ajouter des blocages et des applications obligatoires, ou durcir un blocage national ; il ne
        peut pas autoriser ce que le socle bloque.
      </p>
      <MinistryRules rules={rules} names={names} onRemove={(app) => setRules((r) => r.filter((x) => x.app !== app))} />
      <AddRuleForm
        catalog={catalog}
        mode={content.mode}
        taken={new Set(rules.map((r) => r.app))}
        onAdd={(rule) => setRules((r) => [...r, rule])}
      />
      <Input
        label="Commentaire de version (facultatif)"
        hintText="Enregistré avec la nouvelle version, par exemple la référence de la décision."
        nativeInputProps={{ value: comment, onChange: (e) => setComment(e.target.value), maxLength: 1000 }}
      />
      {error && <ErrorAlert title="La prévisualisation a échoué" error={error} onClose={() => setError(undefined)} />}
      <Button disabled={busy} iconId="fr-icon-eye-line" onClick={preview}>
        {busy ? 'Calcul du plan…' : 'Prévisualiser'}
      </Button>
    </>
  );
}

export function PolicyEditor({ ministry }: { ministry: string }) {
  const [applied, setApplied] = useState<string>();
  const data = useLoad(async (): Promise<Loaded> => {
    const [policy, effective, catalog] = await Promise.all([
      api.policy(ministry),
      api.ministryEffectivePolicy(ministry),
      api.catalog(),
    ]);
    return { policy, effective, catalog };
  }, `policy-${ministry}`);
  return (
    <>
      {applied && (
        <Alert
          className="fr-mb-3w"
          severity="success"
          role="status"
          title="Politique mise à jour"
          description={applied}
          closable
          onClose={() => setApplied(undefined)}
        />
      )}
      <LoadState loaded={data} what="la politique du ministère">
        {(d) => (
          <Editor
            key={d.policy.version}
            ministry={ministry}
            data={d}
            onApplied={(m) => {
              setApplied(m);
              data.reload();
            }}
          />
        )}
      </LoadState>
    </>
  );
}
