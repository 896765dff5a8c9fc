import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { Tag } from '@codegouvfr/react-dsfr/Tag';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { useEffect, useRef, useState } from 'react';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import { KeysetPagerNav, useDebounced, useKeysetPages } from '../../components/KeysetPager';
import { LoadState } from '../../components/LoadState';
import { ROLE_LABELS } from '../../labels';
import { useSession } from '../../session';
import type { Agent, Ministry, Role } from '../../types';
import { errorOf, useLoad } from '../../useLoad';

const ROLES: Role[] = ['agent', 'approver', 'it-admin', 'national-admin'];

function GrantForm({ agent, onGrant }: { agent: Agent; onGrant: (role: Role) => void }) {
  const [role, setRole] = useState<Role>('approver');
  return (
    <span style={{ display: 'inline-flex', gap: '.5rem', alignItems: 'flex-end' }}>
      <Select
        label={<span className="fr-sr-only">Rôle à attribuer à {agent.displayName}</span>}
        className="fr-mb-0"
        nativeSelectProps={{ value: role, onChange: (e) => setRole(e.target.value as Role) }}
      >
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {ROLE_LABELS[r]}
          </option>
        ))}
      </Select>
      <Button size="small" onClick={() => onGrant(role)} title={`Attribuer ce rôle à ${agent.displayName}`}>
        Attribuer
      </Button>
    </span>
  );
}

interface Removal {
  agent: Agent;
  assignment: Agent['roles'][number];
}

/** Removing a role asks first, in a box that takes the focus: one stray click must not strip someone's rights. */
function ConfirmRemoval({
  removal,
  onConfirm,
  onCancel,
}: {
  removal: Removal;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { ministryName } = useSession();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), [removal]);
  const role = `${ROLE_LABELS[removal.assignment.role]}${removal.assignment.ministry ? ` (${ministryName(removal.assignment.ministry)})` : ''}`;
  return (
    <div
      ref={box}
      tabIndex={-1}
      role="alertdialog"
      aria-labelledby="confirm-removal-title"
      className="fr-p-3w fr-mb-3w"
      style={{ border: '2px solid var(--border-plain-error)' }}
    >
      <p id="confirm-removal-title" className="fr-text--bold">
        Retirer le rôle {role} à {removal.agent.displayName} ?
      </p>
      <p className="fr-text--sm">
        {removal.agent.displayName} perdra aussitôt les droits de ce rôle et en sera notifié. Cette action est
        journalisée.
      </p>
      <ul className="fr-btns-group fr-btns-group--inline-sm">
        <li>
          <Button iconId="fr-icon-delete-line" onClick={onConfirm}>
            Retirer le rôle
          </Button>
        </li>
        <li>
          <Button priority="secondary" onClick={onCancel}>
            Annuler
          </Button>
        </li>
      </ul>
    </div>
  );
}

const PAGE_SIZE = 50;

/** A ministry's agents, searched and paged by the API (keyset on email): a ministry of 100,000 people too. */
function AgentsTable({ ministry }: { ministry: string }) {
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim());
  const pages = useKeysetPages();
  const agents = useLoad(
    async () => ({
      ...(await api.ministryAgents(ministry, { q: q || undefined, cursor: pages.cursor, limit: PAGE_SIZE })),
      number: pages.number,
      q,
    }),
    `agents-${ministry}-${q}-${pages.cursor ?? ''}`,
  );
  // A new search starts again from the first page.
  const [asked, setAsked] = useState(q);
  if (asked !== q) {
    setAsked(q);
    pages.reset();
  }
  const { ministryName } = useSession();
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<string>();
  const [removal, setRemoval] = useState<Removal>();
  const run = async (what: () => Promise<unknown>, message: string) => {
    setError(undefined);
    setDone(undefined);
    try {
      await what();
      setDone(message);
      agents.reload();
    } catch (err) {
      setError(errorOf(err));
    }
  };
  return (
    <>
      {error && (
        <ErrorAlert title="Le changement de rôle n’a pas abouti" error={error} onClose={() => setError(undefined)} />
      )}
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
      {removal && (
        <ConfirmRemoval
          removal={removal}
          onCancel={() => setRemoval(undefined)}
          onConfirm={() => {
            const { agent, assignment } = removal;
            setRemoval(undefined);
            void run(
              () => api.revokeRole(agent.id, assignment.id),
              `Rôle ${ROLE_LABELS[assignment.role]} retiré à ${agent.displayName}.`,
            );
          }}
        />
      )}
      <Input
        label="Rechercher un agent"
        hintText="Nom ou adresse électronique"
        iconId="fr-icon-search-line"
        nativeInputProps={{ type: 'search', value: search, onChange: (e) => setSearch(e.target.value) }}
      />
      <LoadState loaded={agents} what="les agents">
        {(page) =>
          page.items.length === 0 ? (
            <p>{page.q ? `Aucun agent ne correspond à « ${page.q} ».` : 'Aucun agent.'}</p>
          ) : (
            <>
              <Table
                caption={`Agents du ministère${
                  page.q
                    ? ` correspondant à « ${page.q} » (${page.items.length} sur ${page.total})`
                    : ` (${page.total})`
                }${page.total > PAGE_SIZE ? ` — page ${page.number} sur ${Math.ceil(page.total / PAGE_SIZE)}` : ''}`}
                headers={['Agent', 'Rôles (cliquer pour retirer)', 'Attribuer un rôle']}
                data={page.items.map((a) => [
                  `${a.displayName} (${a.email})`,
                  <ul key="r" className="fr-tags-group">
                    {a.roles.map((r) => (
                      <li key={r.id}>
                        <Tag
                          small
                          dismissible
                          nativeButtonProps={{
                            'aria-label': `Retirer le rôle ${ROLE_LABELS[r.role]} à ${a.displayName}`,
                          }}
                          onClick={() => setRemoval({ agent: a, assignment: r })}
                        >
                          {ROLE_LABELS[r.role]}
                          {r.ministry ? ` (${ministryName(r.ministry)})` : ''}
                        </Tag>
                      </li>
                    ))}
                  </ul>,
                  <GrantForm
                    key="g"
                    agent={a}
                    onGrant={(role) =>
                      run(
                        () => api.grantRole(a.id, role, role === 'national-admin' ? null : ministry),
                        `Rôle ${ROLE_LABELS[role]} attribué à ${a.displayName}.`,
                      )
                    }
                  />,
                ])}
              />
              <KeysetPagerNav
                label="Pages des agents"
                number={page.number}
                nextCursor={page.nextCursor}
                loading={agents.loading}
                onPrevious={pages.previous}
                onNext={pages.next}
              />
            </>
          )
        }
      </LoadState>
    </>
  );
}

function Picker({ ministries }: { ministries: Ministry[] }) {
  const [ministry, setMinistry] = useState(ministries[0]?.code ?? '');
  return (
    <>
      <Select label="Ministère" nativeSelectProps={{ value: ministry, onChange: (e) => setMinistry(e.target.value) }}>
        {ministries.map((m) => (
          <option key={m.code} value={m.code}>
            {m.name}
          </option>
        ))}
      </Select>
      {ministry && <AgentsTable key={ministry} ministry={ministry} />}
    </>
  );
}

export function Roles() {
  const ministries = useLoad(() => api.ministries(), 'ministries');
  return (
    <LoadState loaded={ministries} what="les ministères">
      {(list) => <Picker ministries={list} />}
    </LoadState>
  );
}
