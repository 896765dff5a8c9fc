import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { useEffect, useState } from 'react';
import { api, QUEUE_PAGE_SIZE } from '../../api';
import { rememberQueueMinistry } from '../../prefetch';
import { LoadState } from '../../components/LoadState';
import { ExemptionStatusBadge } from '../../components/StatusBadge';
import { daysUntil, formatDate, STATUS_LABELS } from '../../labels';
import { useSession } from '../../session';
import type { Exemption, ExemptionStatus, Me } from '../../types';
import { useLoad } from '../../useLoad';
import { DecisionForm } from './DecisionForm';

function Request({ e, me, onDecided }: { e: Exemption; me: Me; onDecided: (m: string) => void }) {
  const age = -daysUntil(e.requestedAt);
  return (
    <article
      className="fr-p-3w fr-mb-3w"
      style={{ border: '1px solid var(--border-default-grey)' }}
      aria-labelledby={`req-${e.id}`}
    >
      <h2 id={`req-${e.id}`} className="fr-h5 fr-mb-1w">
        {e.app.name} — {e.agent.displayName}
      </h2>
      <p className="fr-text--sm fr-mb-1w">
        {e.agent.email} · {e.device ? `appareil « ${e.device.displayName} »` : 'tous ses appareils'} · {e.requestedDays}{' '}
        jours demandés · reçue le {formatDate(e.requestedAt)} (
        {age <= 0 ? 'aujourd’hui' : `il y a ${age} jour${age > 1 ? 's' : ''}`}){e.renewalOf && ' · renouvellement'}
      </p>
      <blockquote
        className="fr-mb-2w"
        style={{ borderLeft: '4px solid var(--border-default-blue-france)', paddingLeft: '1rem' }}
      >
        <p className="fr-mb-0">{e.justification}</p>
      </blockquote>
      {e.status !== 'pending' ? (
        <p className="fr-text--sm">
          <ExemptionStatusBadge status={e.status} />{' '}
          {e.decidedBy ? `par ${e.decidedBy.displayName}, le ${formatDate(e.decidedAt)}` : ''}
          {e.decisionReason ? ` : ${e.decisionReason}` : ''}
        </p>
      ) : e.agent.id === me.id ? (
        <p className="fr-text--sm">Vous ne pouvez pas décider de votre propre demande.</p>
      ) : (
        <DecisionForm exemption={e} onDecided={onDecided} />
      )}
    </article>
  );
}

const PAGE_SIZE = QUEUE_PAGE_SIZE;

const AGES: { value: string; label: string }[] = [
  { value: '', label: 'Toutes' },
  { value: '3', label: 'Plus de 3 jours' },
  { value: '7', label: 'Plus de 7 jours' },
  { value: '30', label: 'Plus de 30 jours' },
];

/** "3 demandes approuvées", "1 demande en attente". */
function counted(n: number, status: ExemptionStatus): string {
  const word = status === 'pending' ? 'en attente' : `${STATUS_LABELS[status].toLowerCase()}${n > 1 ? 's' : ''}`;
  return `${n.toLocaleString('fr-FR')} demande${n > 1 ? 's' : ''} ${word}`;
}

interface Filters {
  status: ExemptionStatus;
  app: string;
  age: string;
}

function FilterBar({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const catalog = useLoad(() => api.catalog(), 'catalog');
  return (
    <form
      className="fr-grid-row fr-grid-row--gutters fr-mb-2w"
      aria-label="Filtrer les demandes"
      onSubmit={(e) => e.preventDefault()}
    >
      <div className="fr-col-12 fr-col-md-4">
        <Select
          label="Statut"
          nativeSelectProps={{
            value: filters.status,
            onChange: (e) => onChange({ ...filters, status: e.target.value as ExemptionStatus }),
          }}
        >
          {(Object.keys(STATUS_LABELS) as ExemptionStatus[]).map((s) => (
            <option key={s} value={s}>
              {STATUS_LABELS[s]}
            </option>
          ))}
        </Select>
      </div>
      <div className="fr-col-12 fr-col-md-4">
        <Select
          label="Application"
          nativeSelectProps={{ value: filters.app, onChange: (e) => onChange({ ...filters, app: e.target.value }) }}
        >
          <option value="">Toutes</option>
          {(catalog.data ?? [])
            .slice()
            .sort((a, b) => a.name.localeCompare(b.name, 'fr'))
            .map((a) => (
              <option key={a.slug} value={a.slug}>
                {a.name}
              </option>
            ))}
        </Select>
      </div>
      <div className="fr-col-12 fr-col-md-4">
        <Select
          label="Ancienneté de la demande"
          nativeSelectProps={{ value: filters.age, onChange: (e) => onChange({ ...filters, age: e.target.value }) }}
        >
          {AGES.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </Select>
      </div>
    </form>
  );
}

/**
 * The approvers' queue, oldest first, filtered by status, app and age, paged by the API's keyset
 * cursor (20 at a time): the 10,000th request is as quick to reach as the first page.
 */
export function Queue({ ministry, me }: { ministry: string; me: Me }) {
  const [filters, setFilters] = useState<Filters>({ status: 'pending', app: '', age: '' });
  // The cursor each visited page started from: "Page précédente" goes back without the API paging backwards.
  const [starts, setStarts] = useState<(string | undefined)[]>([undefined]);
  const cursor = starts[starts.length - 1];
  const number = starts.length;
  // The page carries what it was asked with: while the next one loads, what is shown stays consistent.
  const queue = useLoad(
    async () => ({
      ...(await api.exemptionQueue(ministry, {
        status: filters.status,
        app: filters.app || undefined,
        minAgeDays: filters.age ? Number(filters.age) : undefined,
        cursor,
        limit: PAGE_SIZE,
      })),
      number,
      status: filters.status,
      filtered: filters.status !== 'pending' || filters.app !== '' || filters.age !== '',
    }),
    `queue-${ministry}-${filters.status}-${filters.app}-${filters.age}-${cursor ?? ''}`,
  );
  const [done, setDone] = useState<string>();
  const { refreshCounts } = useSession();
  // The next load of this tab asks for this ministry's first page without waiting for /me.
  useEffect(() => rememberQueueMinistry(ministry), [ministry]);
  const decided = (message: string) => {
    setDone(message);
    queue.reload();
    refreshCounts();
  };
  const filter = (f: Filters) => {
    setFilters(f);
    setStarts([undefined]);
  };
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
      <FilterBar filters={filters} onChange={filter} />
      <LoadState loaded={queue} what="la file des demandes">
        {(page) =>
          page.items.length === 0 ? (
            <p>{!page.filtered ? 'Aucune demande en attente.' : 'Aucune demande ne correspond à ces filtres.'}</p>
          ) : (
            <>
              <p role="status">
                {counted(page.total, page.status)}, de la plus ancienne à la plus récente
                {page.total > PAGE_SIZE
                  ? ` — page ${page.number.toLocaleString('fr-FR')} sur ${Math.ceil(page.total / PAGE_SIZE).toLocaleString('fr-FR')}`
                  : ''}
                .
              </p>
              {page.items.map((e) => (
                <Request key={e.id} e={e} me={me} onDecided={decided} />
              ))}
              {(page.number > 1 || page.nextCursor) && (
                <nav aria-label="Pages de la file" className="fr-mt-2w">
                  <ul className="fr-btns-group fr-btns-group--inline-sm">
                    <li>
                      <Button
                        priority="secondary"
                        iconId="fr-icon-arrow-left-s-line"
                        disabled={page.number === 1 || queue.loading}
                        onClick={() => setStarts(starts.slice(0, -1))}
                      >
                        Page précédente
                      </Button>
                    </li>
                    <li>
                      <Button
                        priority="secondary"
                        iconId="fr-icon-arrow-right-s-line"
                        iconPosition="right"
                        disabled={!page.nextCursor || queue.loading}
                        onClick={() => page.nextCursor && setStarts([...starts, page.nextCursor])}
                      >
                        Page suivante
                      </Button>
                    </li>
                  </ul>
                </nav>
              )}
            </>
          )
        }
      </LoadState>
    </>
  );
}
