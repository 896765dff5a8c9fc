import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { daysUntil, formatDate, plural } from '../../labels';
import { useLoad } from '../../useLoad';

/** The window the directorate looks ahead: agents are reminded 14 days before, renewals then arrive in the queue. */
const WINDOW_DAYS = 30;

/** Active exemptions of the ministry that end within the window, soonest first. */
export function ExpiringSoon({ ministry }: { ministry: string }) {
  const register = useLoad(() => api.exemptionRegister(ministry), `expiring-${ministry}`);
  return (
    <LoadState loaded={register} what="les dérogations qui expirent bientôt">
      {(items) => {
        const soon = items
          .filter((e) => e.validUntil !== null && daysUntil(e.validUntil) <= WINDOW_DAYS)
          .sort((a, b) => (a.validUntil ?? '').localeCompare(b.validUntil ?? ''));
        if (soon.length === 0) return <p>Aucune dérogation n’expire dans les {WINDOW_DAYS} prochains jours.</p>;
        return (
          <>
            <p>
              L’agent est prévenu 14 jours avant l’échéance et peut demander un renouvellement, qui arrive alors dans la
              file des demandes.
            </p>
            <Table
              caption={`Dérogations qui expirent dans les ${WINDOW_DAYS} jours (${soon.length})`}
              headers={['Agent', 'Application', 'Appareil', 'Fin', 'Reste']}
              data={soon.map((e) => {
                const left = daysUntil(e.validUntil as string);
                return [
                  `${e.agent.displayName} (${e.agent.email})`,
                  e.app.name,
                  e.device?.displayName ?? 'Tous',
                  formatDate(e.validUntil),
                  <Badge key="left" small severity={left <= 7 ? 'warning' : 'info'}>
                    {left <= 0 ? 'aujourd’hui' : plural(left, 'jour', 'jours')}
                  </Badge>,
                ];
              })}
            />
          </>
        );
      }}
    </LoadState>
  );
}
