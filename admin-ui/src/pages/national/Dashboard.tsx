import { useEffect } from 'react';
import { href, useRoute } from '../../router';
import { MinistryObservatory } from '../compliance/MinistryObservatory';
import { NationalObservatory } from '../compliance/NationalObservatory';

const BASE = ['national', 'tableau-de-bord'];

/**
 * The national dashboard is the compliance observatory: every ministry from the read model in a
 * handful of requests (never one per ministry), unknown phones never counted as compliant; a
 * ministry's drill-down at #/national/tableau-de-bord/<ministère>.
 */
export function Dashboard() {
  const [, , ministry, filter, page] = useRoute().segments;
  useEffect(() => window.scrollTo({ top: 0 }), [ministry]);
  if (!ministry) return <NationalObservatory base={BASE} />;
  return (
    <>
      <p>
        <a className="fr-link fr-icon-arrow-left-line fr-link--icon-left" href={href(...BASE)}>
          Tous les ministères
        </a>
      </p>
      <MinistryObservatory key={ministry} code={ministry} base={BASE} filterSlug={filter} page={Number(page) || 1} />
    </>
  );
}
