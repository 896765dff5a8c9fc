import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { useState } from 'react';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { daysUntil, formatDate } from '../../labels';
import { useSession } from '../../session';
import type { Exemption, Me } from '../../types';
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
      {e.agent.id === me.id ? (
        <p className="fr-text--sm">Vous ne pouvez pas décider de votre propre demande.</p>
      ) : (
        <DecisionForm exemption={e} onDecided={onDecided} />
      )}
    </article>
  );
}

export function Queue({ ministry, me }: { ministry: string; me: Me }) {
  const queue = useLoad(() => api.exemptionQueue(ministry, 'pending'), `queue-${ministry}`);
  const [done, setDone] = useState<string>();
  const { refreshCounts } = useSession();
  const decided = (message: string) => {
    setDone(message);
    queue.reload();
    refreshCounts();
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
      <LoadState loaded={queue} what="la file des demandes">
        {(page) =>
          page.items.length === 0 ? (
            <p>Aucune demande en attente.</p>
          ) : (
            <>
              <p>
                {page.total} demande{page.total > 1 ? 's' : ''} en attente, de la plus ancienne à la plus récente.
              </p>
              {page.items.map((e) => (
                <Request key={e.id} e={e} me={me} onDecided={decided} />
              ))}
            </>
          )
        }
      </LoadState>
    </>
  );
}
