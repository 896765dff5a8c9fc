import { Button } from '@codegouvfr/react-dsfr/Button';
import { useEffect, useState } from 'react';

/** `value`, once it has not changed for `ms`: a search box asks the server once the user pauses, not per key. */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * The cursor each visited page started from, for an API that pages forward on a keyset:
 * "Page précédente" goes back without the API paging backwards. `reset` when the search changes.
 */
export function useKeysetPages() {
  const [starts, setStarts] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: starts[starts.length - 1],
    number: starts.length,
    next: (cursor: string) => setStarts((s) => [...s, cursor]),
    previous: () => setStarts((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStarts([undefined]),
  };
}

/** Previous / next buttons under a list; hidden when everything fits on one page. */
export function KeysetPagerNav({
  label,
  number,
  nextCursor,
  loading,
  onPrevious,
  onNext,
}: {
  label: string;
  number: number;
  nextCursor: string | null;
  loading: boolean;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}) {
  if (number === 1 && !nextCursor) return null;
  return (
    <nav aria-label={label} className="fr-mt-2w">
      <ul className="fr-btns-group fr-btns-group--inline-sm">
        <li>
          <Button
            priority="secondary"
            iconId="fr-icon-arrow-left-s-line"
            disabled={number === 1 || loading}
            onClick={onPrevious}
          >
            Page précédente
          </Button>
        </li>
        <li>
          <Button
            priority="secondary"
            iconId="fr-icon-arrow-right-s-line"
            iconPosition="right"
            disabled={!nextCursor || loading}
            onClick={() => nextCursor && onNext(nextCursor)}
          >
            Page suivante
          </Button>
        </li>
      </ul>
    </nav>
  );
}
