import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { Table } from '@codegouvfr/react-dsfr/Table';
import { Tag } from '@codegouvfr/react-dsfr/Tag';
import { useState } from 'react';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import { LoadState } from '../../components/LoadState';
import { ROLE_LABELS } from '../../labels';
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

function AgentsTable({ ministry }: { ministry: string }) {
  const agents = useLoad(() => api.ministryAgents(ministry), `agents-${ministry}`);
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<string>();
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
      <LoadState loaded={agents} what="les agents">
        {(list) => (
          <Table
            caption={`Agents du ministère (${list.length})`}
            headers={['Agent', 'Rôles (cliquer pour retirer)', 'Attribuer un rôle']}
            data={list.map((a) => [
              `${a.displayName} (${a.email})`,
              <ul key="r" className="fr-tags-group">
                {a.roles.map((r) => (
                  <li key={r.id}>
                    <Tag
                      small
                      dismissible
                      nativeButtonProps={{ 'aria-label': `Retirer le rôle ${ROLE_LABELS[r.role]} à ${a.displayName}` }}
                      onClick={() =>
                        run(() => api.revokeRole(a.id, r.id), `Rôle ${ROLE_LABELS[r.role]} retiré à ${a.displayName}.`)
                      }
                    >
                      {ROLE_LABELS[r.role]}
                      {r.ministry ? ` (${r.ministry})` : ''}
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
        )}
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
