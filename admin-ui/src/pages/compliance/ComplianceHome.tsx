import { useEffect } from 'react';
import { MinistryPicker } from '../../components/MinistryPicker';
import { ministriesWith } from '../../homes';
import { navigate, useRoute } from '../../router';
import { useSession } from '../../session';
import type { Me } from '../../types';
import { MinistryObservatory } from './MinistryObservatory';

/** The ministries whose compliance this person may read: those where they are IT or approver. */
export function complianceMinistries(me: Me): string[] {
  return [...new Set([...ministriesWith(me, 'it-admin'), ...ministriesWith(me, 'approver')])].sort();
}

/**
 * Ministry IT and the digital directorate (approvers): their own ministry's figures and phones
 * (#/conformite/<ministère>/<filtre>/<page>). Other ministries are not offered (the API refuses
 * them anyway).
 */
export function ComplianceHome({ me }: { me: Me }) {
  const [, code, filter, page] = useRoute().segments;
  const codes = complianceMinistries(me);
  const { ministryName } = useSession();
  const ministry = code && codes.includes(code) ? code : (codes[0] ?? me.ministry);
  useEffect(() => window.scrollTo({ top: 0 }), [ministry]);
  return (
    <>
      <h1>Conformité du parc</h1>
      <MinistryPicker
        codes={codes}
        value={ministry}
        onChange={(c) => navigate('conformite', c)}
        names={Object.fromEntries(codes.map((c) => [c, ministryName(c)]))}
      />
      <MinistryObservatory
        key={ministry}
        code={ministry}
        base={['conformite']}
        filterSlug={filter}
        page={Number(page) || 1}
      />
    </>
  );
}
