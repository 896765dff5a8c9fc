import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { ScrollTable as Table } from '../../components/ScrollTable';
import { androidHealth, androidUnknownDevices } from '../../client';
import type { AndroidHealth as Health, UnknownAndroidDevice } from '../../client';
import { LoadState } from '../../components/LoadState';
import { formatDateTime } from '../../labels';
import { useLoad } from '../../useLoad';

// Errors are thrown as ApiError (French lead, the API's sentence) by the client's interceptor (api.ts).
const health = async (code: string): Promise<Health> =>
  (await androidHealth({ path: { code }, throwOnError: true })).data;
const unknownDevices = async (code: string): Promise<UnknownAndroidDevice[]> =>
  (await androidUnknownDevices({ path: { code }, throwOnError: true })).data;

/**
 * What the ministry's Android set-up lacks, as the API reads it from Google and our tables: each
 * problem in the API's own sentence (it says what to do), when the last status report came, and the
 * phones Google lists that none of our tokens enrolled.
 */
export function AndroidHealth({ ministry }: { ministry: string }) {
  const loaded = useLoad(() => health(ministry), `android-health-${ministry}`);
  const unknown = useLoad(() => unknownDevices(ministry), `android-unknown-${ministry}`);
  return (
    <section aria-labelledby="android-health-title">
      <h2 id="android-health-title" className="fr-h4">
        État de la configuration Android
      </h2>
      <LoadState loaded={loaded} what="l’état Android">
        {(h) => (
          <>
            {h.ok ? (
              <Alert
                className="fr-mb-3w"
                severity="success"
                small
                description="Rien ne manque : entreprise liée, notifications reçues, politiques publiées."
              />
            ) : (
              h.problems.map((p) => (
                <Alert
                  key={p.code}
                  className="fr-mb-2w"
                  severity={p.code === 'google-unreachable' || p.code === 'unknown-devices' ? 'warning' : 'error'}
                  small
                  description={p.message}
                />
              ))
            )}
            <p>
              Entreprise Android : {h.enterpriseName ? <code>{h.enterpriseName}</code> : 'aucune'}
              <br />
              Dernier rapport reçu d’un téléphone : {formatDateTime(h.lastReportAt)}
            </p>
          </>
        )}
      </LoadState>
      <h3 className="fr-h5">Téléphones inconnus</h3>
      <LoadState loaded={unknown} what="les téléphones inconnus">
        {(phones) =>
          phones.length === 0 ? (
            <p>Aucun téléphone inconnu : Google ne liste que des téléphones enrôlés par ce service.</p>
          ) : (
            <Table
              caption={`Téléphones listés par Google qu’aucun jeton de ce service n’a enrôlés (${phones.length})`}
              headers={['Appareil (Google)', 'Modèle', 'Numéro de série', 'Propriété', 'Enrôlé le', 'Vu le']}
              data={phones.map((d) => [
                <code key="n">{d.name}</code>,
                d.model ?? '—',
                d.serialNumber ?? '—',
                d.ownership ?? '—',
                formatDateTime(d.enrolledAt),
                formatDateTime(d.lastSeenAt),
              ])}
            />
          )
        }
      </LoadState>
    </section>
  );
}
