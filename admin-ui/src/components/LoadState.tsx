import type { ReactNode } from 'react';
import type { Loaded } from '../useLoad';
import { ErrorAlert } from './ErrorAlert';

/** Shows loading, then the error (never swallowed) or the content. */
export function LoadState<T>({
  loaded,
  children,
  what,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (loaded.error) return <ErrorAlert title={`Impossible de charger ${what}`} error={loaded.error} />;
  if (loaded.data === undefined) {
    return (
      <p className="fr-text--sm" role="status">
        Chargement de {what}…
      </p>
    );
  }
  return <>{children(loaded.data)}</>;
}
