import type { ReactNode } from 'react';
import type { Loaded } from '../useLoad';
import { ErrorAlert } from './ErrorAlert';

/** "de" before a French noun phrase: "du registre", "des demandes", "de la file", "de vos appareils". */
export function deFr(what: string): string {
  if (what.startsWith('le ')) return `du ${what.slice(3)}`;
  if (what.startsWith('les ')) return `des ${what.slice(4)}`;
  return `de ${what}`;
}

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
        Chargement {deFr(what)}…
      </p>
    );
  }
  return <>{children(loaded.data)}</>;
}
