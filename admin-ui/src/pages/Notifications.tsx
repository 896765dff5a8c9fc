import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Button } from '@codegouvfr/react-dsfr/Button';
import { useState } from 'react';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { LoadState } from '../components/LoadState';
import { formatDateTime } from '../labels';
import { useSession } from '../session';
import type { Notification } from '../types';
import { errorOf, useLoad } from '../useLoad';

/**
 * The page of this interface a notification's link points at. Links are written by the API as
 * `<PUBLIC_URL>/#/…`; those stored before that pointed at API paths (/exemptions/<id>,
 * /ministries/<code>/exemptions), which open the same pages here.
 */
export function notificationRoute(link: string | null): string | null {
  if (!link) return null;
  let url: URL;
  try {
    url = new URL(link, window.location.href);
  } catch {
    return null;
  }
  if (url.hash.startsWith('#/')) return url.hash;
  const exemption = /^\/exemptions\/([^/]+)\/?$/.exec(url.pathname);
  if (exemption) return `#/exemptions/${exemption[1]}${url.search}`;
  const queue = /^\/ministries\/([^/]+)\/exemptions\/?$/.exec(url.pathname);
  if (queue) return `#/validation/file?ministere=${queue[1]}`;
  return null;
}

function Item({ n, onRead }: { n: Notification; onRead: () => void }) {
  const route = notificationRoute(n.link);
  const [error, setError] = useState<Error>();
  const markRead = () => api.markNotificationRead(n.id).then(onRead, (e: unknown) => setError(errorOf(e)));
  return (
    <li className="fr-mb-3w fr-p-2w" style={{ border: '1px solid var(--border-default-grey)' }}>
      <h2 className="fr-h6 fr-mb-1w">
        {!n.readAt && (
          <Badge small severity="new" as="span" className="fr-mr-1w">
            Non lue
          </Badge>
        )}
        {n.title}
      </h2>
      <p className="fr-text--sm fr-mb-1w">{n.body}</p>
      <p className="fr-text--xs fr-mb-1w">Reçue le {formatDateTime(n.createdAt)}</p>
      {error && <ErrorAlert title="Impossible de marquer la notification comme lue" error={error} />}
      <ul className="fr-btns-group fr-btns-group--inline-sm fr-btns-group--sm">
        {route && (
          <li>
            <Button size="small" linkProps={{ href: route, onClick: () => (n.readAt ? undefined : void markRead()) }}>
              Ouvrir
            </Button>
          </li>
        )}
        {!n.readAt && (
          <li>
            <Button size="small" priority="secondary" onClick={() => void markRead()}>
              Marquer comme lue
            </Button>
          </li>
        )}
      </ul>
    </li>
  );
}

/** The in-app notifications (GET /me/notifications): the latest 100, newest first. */
export function Notifications() {
  const list = useLoad(() => api.notifications(), 'notifications');
  const { refreshCounts, unread } = useSession();
  const read = () => {
    list.reload();
    refreshCounts();
  };
  return (
    <>
      <h1>Notifications</h1>
      <p className="fr-text--lead">
        {unread === undefined
          ? 'Vos messages du service.'
          : unread === 0
            ? 'Vous n’avez aucune notification non lue.'
            : `${unread} notification${unread > 1 ? 's' : ''} non lue${unread > 1 ? 's' : ''}.`}
      </p>
      <LoadState loaded={list} what="vos notifications">
        {(items) =>
          items.length === 0 ? (
            <Alert severity="info" small description="Aucune notification pour le moment." />
          ) : (
            <ul className="fr-raw-list">
              {items.map((n) => (
                <Item key={n.id} n={n} onRead={read} />
              ))}
            </ul>
          )
        }
      </LoadState>
    </>
  );
}
