import { Button } from '@codegouvfr/react-dsfr/Button';
import { Checkbox } from '@codegouvfr/react-dsfr/Checkbox';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { useState, type FormEvent } from 'react';
import type { CatalogApp, PolicyMode, PolicyRule, RuleAction } from '../../types';

export function AddRuleForm({
  catalog,
  mode,
  taken,
  onAdd,
}: {
  catalog: CatalogApp[];
  mode: PolicyMode;
  taken: Set<string>;
  onAdd: (rule: PolicyRule) => void;
}) {
  const [app, setApp] = useState('');
  const [action, setAction] = useState<RuleAction>('block');
  const [exemptable, setExemptable] = useState(false);
  const [days, setDays] = useState('180');
  const [legalBasis, setLegalBasis] = useState('');
  const [errors, setErrors] = useState<{ app?: string; days?: string }>({});

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found: { app?: string; days?: string } = {};
    if (!app) found.app = 'Choisissez une application du catalogue.';
    const n = Number(days);
    if (action === 'block' && exemptable && (!Number.isInteger(n) || n < 1 || n > 730))
      found.days = 'Indiquez une durée entière entre 1 et 730 jours.';
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const rule: PolicyRule = { app, action, exemptable: action === 'block' && exemptable };
    if (rule.exemptable) rule.maxExemptionDays = n;
    if (legalBasis.trim()) rule.legalBasis = legalBasis.trim();
    onAdd(rule);
    setApp('');
    setLegalBasis('');
  };

  const actions: RuleAction[] = mode === 'allowlist' ? ['allow', 'block', 'require'] : ['block', 'require'];
  return (
    <form
      onSubmit={submit}
      noValidate
      className="fr-p-3w fr-mb-3w"
      style={{ background: 'var(--background-alt-grey)' }}
    >
      <h3 className="fr-h6">Ajouter une règle du ministère</h3>
      <div className="fr-grid-row fr-grid-row--gutters">
        <div className="fr-col-12 fr-col-md-6">
          <Select
            label="Application"
            state={errors.app ? 'error' : 'default'}
            stateRelatedMessage={errors.app}
            nativeSelectProps={{ value: app, onChange: (e) => setApp(e.target.value) }}
          >
            <option value="" disabled>
              Sélectionnez une application
            </option>
            {catalog
              .filter((a) => !taken.has(a.slug))
              .map((a) => (
                <option key={a.slug} value={a.slug}>
                  {a.name}
                </option>
              ))}
          </Select>
        </div>
        <div className="fr-col-12 fr-col-md-6">
          <Select
            label="Règle"
            nativeSelectProps={{ value: action, onChange: (e) => setAction(e.target.value as RuleAction) }}
          >
            {actions.map((a) => (
              <option key={a} value={a}>
                {a === 'block' ? 'Bloquer' : a === 'require' ? 'Rendre obligatoire' : 'Autoriser'}
              </option>
            ))}
          </Select>
        </div>
      </div>
      {action === 'block' && (
        <div className="fr-grid-row fr-grid-row--gutters">
          <div className="fr-col-12 fr-col-md-6">
            <Checkbox
              options={[
                {
                  label: 'Dérogation possible',
                  nativeInputProps: { checked: exemptable, onChange: (e) => setExemptable(e.target.checked) },
                },
              ]}
            />
          </div>
          {exemptable && (
            <div className="fr-col-12 fr-col-md-6">
              <Input
                label="Durée maximale d’une dérogation (jours)"
                state={errors.days ? 'error' : 'default'}
                stateRelatedMessage={errors.days}
                nativeInputProps={{
                  type: 'number',
                  min: 1,
                  max: 730,
                  value: days,
                  onChange: (e) => setDays(e.target.value),
                }}
              />
            </div>
          )}
        </div>
      )}
      <Input
        label="Fondement juridique (facultatif)"
        hintText="Par exemple : Instruction ministérielle du … ."
        nativeInputProps={{ value: legalBasis, onChange: (e) => setLegalBasis(e.target.value) }}
      />
      <Button type="submit" priority="secondary" iconId="fr-icon-add-line">
        Ajouter la règle
      </Button>
    </form>
  );
}
