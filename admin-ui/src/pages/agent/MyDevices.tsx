import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { ComplianceBadge } from '../../components/StatusBadge';
import { formatDate, formatDateTime, OWNERSHIP_LABELS, PLATFORM_LABELS } from '../../labels';
import { href } from '../../router';
import type { Device, EffectiveApp, EffectivePolicy } from '../../types';
import { useLoad } from '../../useLoad';

/**
 * The text that decides an app's fate, shown once for all the apps it decides. A ministry rule on
 * an app can only harden the national one (the baseline is locked), so when both rule an app the
 * ministry's text is the binding one (Telegram at the Interior: the HFDS note that forbids any
 * exemption, not the directive that allows them); otherwise the national text.
 */
export function bindingLegalBasis(app: EffectiveApp): string | null {
  if (app.legalBasis.length === 0) return null;
  if (app.origins.includes('ministry')) return app.legalBasis[app.legalBasis.length - 1] ?? null;
  return app.legalBasis[0] ?? null;
}

type Kind = 'locked' | 'exemptable' | 'lifted' | 'required' | 'allowed';

const KINDS: { kind: Kind; title: string; severity: 'error' | 'warning' | 'info' | 'success' | 'new' }[] = [
  { kind: 'locked', title: 'Bloquées, sans dérogation possible', severity: 'error' },
  { kind: 'exemptable', title: 'Bloquées, dérogation possible', severity: 'warning' },
  { kind: 'lifted', title: 'Autorisées par une dérogation', severity: 'info' },
  { kind: 'required', title: 'Installées d’office (obligatoires)', severity: 'success' },
  { kind: 'allowed', title: 'Autorisées par la liste de votre ministère', severity: 'new' },
];

function kindOf(app: EffectiveApp, allowlist: boolean): Kind | null {
  if (app.liftedBy) return 'lifted';
  if (app.action === 'block') return app.exemptable ? 'exemptable' : 'locked';
  if (app.action === 'require') return 'required';
  return allowlist ? 'allowed' : null;
}

interface Group {
  basis: string | null;
  /** Exemptable blocks: the longest exemption the rule allows, the same for the whole group. */
  maxDays: number | null;
  apps: EffectiveApp[];
}

/** Apps decided by the same text (and, for exemptable ones, allowing the same period) form one group. */
function byBasis(apps: EffectiveApp[], kind: Kind): Group[] {
  const groups = new Map<string, Group>();
  for (const app of apps) {
    const basis = bindingLegalBasis(app);
    const maxDays = kind === 'exemptable' ? app.maxExemptionDays : null;
    const key = `${maxDays ?? ''}|${basis ?? ''}`;
    const group = groups.get(key) ?? { basis, maxDays, apps: [] };
    group.apps.push(app);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.apps.length - a.apps.length);
}

function appLabel(app: EffectiveApp, kind: Kind): string {
  if (kind === 'lifted' && app.liftedBy) return `${app.name} — jusqu’au ${formatDate(app.liftedBy.validUntil)}`;
  return app.name;
}

function PolicyGroups({ policy, id }: { policy: EffectivePolicy; id: string }) {
  const allowlist = policy.mode === 'allowlist';
  const sorted = [...policy.apps].sort((a, b) => a.name.localeCompare(b.name, 'fr'));
  const kinds = KINDS.map((k) => ({ ...k, apps: sorted.filter((a) => kindOf(a, allowlist) === k.kind) })).filter(
    (k) => k.apps.length > 0,
  );
  const grouped = kinds.map((k) => ({ ...k, groups: byBasis(k.apps, k.kind) }));
  // Each text is written once, at the end, and numbered: a 40-word circular that decides 30 apps
  // of three kinds is read once, not thirty (nor three) times.
  const texts: string[] = [];
  for (const k of grouped) for (const g of k.groups) if (g.basis && !texts.includes(g.basis)) texts.push(g.basis);
  const textId = (basis: string) => `${id}-texte-${texts.indexOf(basis) + 1}`;
  return (
    <>
      {allowlist && (
        <p className="fr-text--sm">
          Votre ministère applique une liste d’autorisation : toute application absente de la liste ci-dessous est
          bloquée.
        </p>
      )}
      {grouped.map(({ kind, title, severity, apps, groups }) => {
        const headingId = `${id}-${kind}`;
        return (
          <section key={kind} aria-labelledby={headingId} className="fr-mb-3w">
            <h3 id={headingId} className="fr-h6 fr-mb-1w">
              {title}{' '}
              <Badge as="span" small severity={severity}>
                {apps.length}
              </Badge>
            </h3>
            {groups.map((g) => (
              <div key={`${g.maxDays ?? ''}|${g.basis ?? ''}`} className="fr-mb-1w">
                <ul className="inline-list fr-text--sm fr-mb-0">
                  {g.apps.map((a) => (
                    <li key={a.app}>{appLabel(a, kind)}</li>
                  ))}
                </ul>
                <p className="fr-text--xs fr-mb-0">
                  {g.maxDays && <>Dérogation possible pour {g.maxDays} jours au plus. </>}
                  {g.basis ? (
                    <>
                      Fondement : <a href={`#${textId(g.basis)}`}>texte n° {texts.indexOf(g.basis) + 1}</a>
                    </>
                  ) : (
                    'Sans fondement juridique publié.'
                  )}
                </p>
              </div>
            ))}
            {kind === 'exemptable' && (
              <Button size="small" priority="secondary" linkProps={{ href: href('agent', 'derogation') }}>
                Demander une dérogation
              </Button>
            )}
          </section>
        );
      })}
      {texts.length > 0 && (
        <section aria-labelledby={`${id}-textes`}>
          <h3 id={`${id}-textes`} className="fr-h6 fr-mb-1w">
            Textes de référence
          </h3>
          <ol className="fr-text--xs">
            {texts.map((t, i) => (
              <li key={t} id={`${id}-texte-${i + 1}`} tabIndex={-1}>
                {t}
              </li>
            ))}
          </ol>
        </section>
      )}
      <p className="fr-text--xs">
        Socle national version {policy.nationalVersion}, politique du ministère version {policy.ministryVersion}.
      </p>
    </>
  );
}

function DeviceLine({ device }: { device: Device }) {
  return (
    <li className="fr-mb-1w">
      <span className="fr-text--bold">{device.displayName}</span>{' '}
      <span className="fr-text--sm">
        · {PLATFORM_LABELS[device.platform]} · {OWNERSHIP_LABELS[device.ownership]} · dernier contact{' '}
        {formatDateTime(device.lastSeenAt)}
      </span>{' '}
      <ComplianceBadge compliance={device.compliance} />{' '}
      <Badge small severity={device.converged ? 'success' : 'info'}>
        {device.converged ? 'Politique appliquée' : 'En cours d’application'}
      </Badge>
      {device.complianceReason && <p className="fr-text--sm fr-mb-0">Motif : {device.complianceReason}</p>}
    </li>
  );
}

/**
 * The agent's phones and what they may run, compact: phones under the same rules share one
 * listing (the same effective policy, by its hash), apps are grouped by what happens to them, and
 * each text that decides is said once for all the apps it decides.
 */
export function MyDevices() {
  const loaded = useLoad(async () => {
    const devices = await api.myDevices();
    const withPolicy = await Promise.all(
      devices.map(async (device) => ({ device, policy: await api.deviceEffectivePolicy(device.id) })),
    );
    const shared = new Map<string, { policy: EffectivePolicy; devices: Device[] }>();
    for (const { device, policy } of withPolicy) {
      const entry = shared.get(policy.hash) ?? { policy, devices: [] };
      entry.devices.push(device);
      shared.set(policy.hash, entry);
    }
    return [...shared.values()];
  }, 'my-devices');
  return (
    <LoadState loaded={loaded} what="vos appareils">
      {(groups) =>
        groups.length === 0 ? (
          <p>Aucun téléphone professionnel n’est enrôlé à votre nom.</p>
        ) : (
          groups.map(({ policy, devices }, i) => (
            <section key={policy.hash} className="fr-mb-5w" aria-labelledby={`policy-${i}`}>
              <h2 id={`policy-${i}`} className="fr-h4">
                {groups.length === 1
                  ? devices.length > 1
                    ? `Vos ${devices.length} téléphones et leurs règles`
                    : 'Votre téléphone et ses règles'
                  : `Règles de ${devices.map((d) => `« ${d.displayName} »`).join(', ')}`}
              </h2>
              <ul className="fr-raw-list fr-mb-2w">
                {devices.map((d) => (
                  <DeviceLine key={d.id} device={d} />
                ))}
              </ul>
              <PolicyGroups policy={policy} id={`policy-${i}`} />
            </section>
          ))
        )
      }
    </LoadState>
  );
}
