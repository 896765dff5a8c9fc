import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { navigate } from '../../router';
import type { CatalogApp, Device, EffectivePolicy, ExemptionRequest } from '../../types';
import { errorOf, useLoad } from '../../useLoad';

const FIELDS = ['app', 'deviceId', 'justification', 'days'] as const;
type Field = (typeof FIELDS)[number];
type FieldErrors = Partial<Record<Field, string>>;

const MAX_DAYS = 730;
const MIN_JUSTIFICATION = 20;

interface Context {
  catalog: CatalogApp[];
  devices: Device[];
  /** Null when the agent's policy could not be read: the form still works, without hints. */
  policy: EffectivePolicy | null;
}

async function loadContext(): Promise<Context> {
  const [catalog, devices, policy] = await Promise.all([
    api.catalog(),
    api.myDevices(),
    api.myEffectivePolicy().catch(() => null),
  ]);
  return { catalog: [...catalog].sort((a, b) => a.name.localeCompare(b.name, 'fr')), devices, policy };
}

function validate(form: { app: string; justification: string; days: string }, maxDays: number): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.app) errors.app = 'Choisissez l’application concernée.';
  const length = form.justification.trim().length;
  if (length < MIN_JUSTIFICATION) {
    errors.justification = `Expliquez le besoin institutionnel en ${MIN_JUSTIFICATION} caractères au moins (${length} saisis).`;
  } else if (length > 2000) {
    errors.justification = 'La justification ne peut dépasser 2 000 caractères.';
  }
  const days = Number(form.days);
  if (!form.days || !Number.isInteger(days) || days < 1 || days > maxDays) {
    errors.days = `Indiquez une durée en jours entiers, entre 1 et ${maxDays}.`;
  }
  return errors;
}

function Form({ ctx }: { ctx: Context }) {
  const [app, setApp] = useState('');
  const [deviceId, setDeviceId] = useState('');
  const [justification, setJustification] = useState('');
  const [days, setDays] = useState('90');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [topError, setTopError] = useState<Error>();
  const [sent, setSent] = useState<string>();
  const [busy, setBusy] = useState(false);

  const blocked = new Map(
    (ctx.policy?.apps ?? []).filter((a) => a.action === 'block' && !a.liftedBy).map((a) => [a.app, a]),
  );
  const rule = blocked.get(app);
  const maxDays = rule?.maxExemptionDays ?? MAX_DAYS;
  const exemptable = ctx.catalog.filter((a) => blocked.get(a.slug)?.exemptable);
  const others = ctx.catalog.filter((a) => !blocked.get(a.slug)?.exemptable);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSent(undefined);
    setTopError(undefined);
    const found = validate({ app, justification, days }, maxDays);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const body: ExemptionRequest = { app, justification: justification.trim(), days: Number(days) };
    if (deviceId) body.deviceId = deviceId;
    setBusy(true);
    try {
      const created = await api.requestExemption(body);
      setSent(
        `Votre demande de dérogation pour ${created.app.name} a été transmise à la direction du numérique de votre ministère.`,
      );
      setApp('');
      setJustification('');
    } catch (err) {
      const error = errorOf(err);
      const field = error instanceof ApiError ? error.fieldIn(FIELDS) : null;
      if (field) setErrors({ [field]: error.message });
      else setTopError(error);
    } finally {
      setBusy(false);
    }
  };

  const state = (f: Field) => (errors[f] ? ('error' as const) : ('default' as const));

  return (
    <form onSubmit={submit} noValidate aria-describedby="derogation-intro">
      <p id="derogation-intro">
        Une dérogation lève, pour une durée limitée, le blocage d’une application lorsqu’un besoin institutionnel le
        justifie. Votre demande est instruite par la direction du numérique de votre ministère. Tous les champs sont
        obligatoires sauf mention contraire.
      </p>
      {topError && (
        <ErrorAlert
          title="Votre demande n’a pas été enregistrée"
          error={topError}
          onClose={() => setTopError(undefined)}
        />
      )}
      {sent && (
        <Alert
          className="fr-mb-3w"
          severity="success"
          role="status"
          title="Demande envoyée"
          description={sent}
          closable
          onClose={() => setSent(undefined)}
        />
      )}
      <Select
        label="Application"
        hint={
          rule
            ? rule.exemptable
              ? `Bloquée pour vous ; dérogation possible ${maxDays} jours au plus.`
              : 'Ce blocage n’admet aucune dérogation.'
            : undefined
        }
        state={state('app')}
        stateRelatedMessage={errors.app}
        nativeSelectProps={{ name: 'app', value: app, onChange: (e) => setApp(e.target.value), required: true }}
      >
        <option value="" disabled>
          Sélectionnez une application
        </option>
        {exemptable.length > 0 && (
          <optgroup label="Bloquées pour vous, dérogation possible">
            {exemptable.map((a) => (
              <option key={a.slug} value={a.slug}>
                {a.name}
              </option>
            ))}
          </optgroup>
        )}
        <optgroup label={exemptable.length > 0 ? 'Autres applications du catalogue' : 'Catalogue'}>
          {others.map((a) => (
            <option key={a.slug} value={a.slug}>
              {a.name}
            </option>
          ))}
        </optgroup>
      </Select>
      <Select
        label="Appareil (facultatif)"
        hint="Sans choix, la dérogation vaut pour tous vos téléphones professionnels."
        state={state('deviceId')}
        stateRelatedMessage={errors.deviceId}
        nativeSelectProps={{ name: 'deviceId', value: deviceId, onChange: (e) => setDeviceId(e.target.value) }}
      >
        <option value="">Tous mes appareils</option>
        {ctx.devices.map((d) => (
          <option key={d.id} value={d.id}>
            {d.displayName}
          </option>
        ))}
      </Select>
      <Input
        label="Justification"
        hintText={`Le besoin institutionnel, en ${MIN_JUSTIFICATION} caractères au moins (par exemple : « J’anime le compte officiel du ministère pour la communication de crise »).`}
        textArea
        state={state('justification')}
        stateRelatedMessage={errors.justification}
        nativeTextAreaProps={{
          name: 'justification',
          value: justification,
          onChange: (e) => setJustification(e.target.value),
          rows: 4,
          maxLength: 2000,
          required: true,
        }}
      />
      <Input
        label="Durée demandée (en jours)"
        hintText={`À compter de l’approbation, ${maxDays} jours au plus.`}
        state={state('days')}
        stateRelatedMessage={errors.days}
        nativeInputProps={{
          name: 'days',
          type: 'number',
          inputMode: 'numeric',
          min: 1,
          max: maxDays,
          step: 1,
          value: days,
          onChange: (e) => setDays(e.target.value),
          required: true,
        }}
      />
      <div style={{ display: 'flex', gap: '1rem', flexWrap: 'wrap' }}>
        <Button type="submit" disabled={busy}>
          {busy ? 'Envoi…' : 'Envoyer la demande'}
        </Button>
        <Button type="button" priority="secondary" onClick={() => navigate('agent', 'demandes')}>
          Voir mes demandes
        </Button>
      </div>
    </form>
  );
}

export function RequestForm() {
  const ctx = useLoad(loadContext, 'request-form');
  return (
    <LoadState loaded={ctx} what="le catalogue et vos appareils">
      {(c) => <Form ctx={c} />}
    </LoadState>
  );
}
