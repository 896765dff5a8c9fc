import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { Tag } from '@codegouvfr/react-dsfr/Tag';
import { ACTION_LABELS } from '../../labels';
import type { EffectiveApp, PolicyRule } from '../../types';

function exemption(exemptable: boolean, days: number | null | undefined): string {
  return exemptable ? `Oui${days ? `, ${days} jours au plus` : ''}` : 'Non';
}

/** The baseline's rules as they reach this ministry: inherited, not editable here. */
export function InheritedRules({ apps }: { apps: EffectiveApp[] }) {
  const national = apps.filter((a) => a.origins.includes('national'));
  return (
    <Table
      caption={`Règles nationales héritées (${national.length}), non modifiables`}
      headers={['Application', 'Règle', 'Origine', 'Fondement juridique', 'Dérogation']}
      data={national.map((a) => [
        a.name,
        <Badge key="a" small severity={a.action === 'block' ? 'error' : a.action === 'require' ? 'success' : undefined}>
          {ACTION_LABELS[a.action]}
        </Badge>,
        <Tag key="o" small iconId="fr-icon-lock-line">
          {a.origins.includes('ministry') ? 'National, renforcé' : 'Socle national'}
        </Tag>,
        a.legalBasis[0] ?? '—',
        exemption(a.exemptable, a.maxExemptionDays),
      ])}
    />
  );
}

/** The ministry's own rules, as edited in the draft. */
export function MinistryRules({
  rules,
  names,
  onRemove,
}: {
  rules: PolicyRule[];
  names: Map<string, string>;
  onRemove: (app: string) => void;
}) {
  if (rules.length === 0) return <p>Le ministère n’ajoute aucune règle au socle national.</p>;
  return (
    <Table
      caption={`Règles du ministère (${rules.length})`}
      headers={['Application', 'Règle', 'Fondement juridique', 'Dérogation', 'Action']}
      data={rules.map((r) => [
        names.get(r.app) ?? r.app,
        ACTION_LABELS[r.action],
        r.legalBasis ?? '—',
        r.action === 'block' ? exemption(r.exemptable, r.maxExemptionDays) : '—',
        <Button
          key="x"
          size="small"
          priority="tertiary"
          iconId="fr-icon-delete-line"
          onClick={() => onRemove(r.app)}
          title={`Retirer la règle sur ${names.get(r.app) ?? r.app}`}
        >
          Retirer
        </Button>,
      ])}
    />
  );
}
