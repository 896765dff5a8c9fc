import { useState } from 'react';
import { MinistryPicker } from '../components/MinistryPicker';
import { SectionTabs } from '../components/SectionTabs';
import { ministriesWith } from '../homes';
import { useSession } from '../session';
import type { Me } from '../types';
import { ExpiringSoon } from './approver/ExpiringSoon';
import { Queue } from './approver/Queue';
import { Register } from './approver/Register';

export function ApproverHome({
  me,
  section,
  initialMinistry,
}: {
  me: Me;
  section: string | undefined;
  /** From a link (?ministere=…, the digest email's): opens that ministry's queue when this person approves for it. */
  initialMinistry?: string;
}) {
  const codes = ministriesWith(me, 'approver');
  const [ministry, setMinistry] = useState(
    initialMinistry && codes.includes(initialMinistry) ? initialMinistry : (codes[0] ?? me.ministry),
  );
  const { ministryName, pendingByMinistry } = useSession();
  const pending = pendingByMinistry[ministry];
  const names = Object.fromEntries(codes.map((c) => [c, ministryName(c)]));
  return (
    <>
      <h1>Validation des dérogations</h1>
      <p className="fr-text--lead">Ministère : {ministryName(ministry)}</p>
      <MinistryPicker codes={codes} value={ministry} onChange={setMinistry} names={names} />
      <SectionTabs
        home="validation"
        label="Validation des dérogations"
        selected={section}
        sections={[
          {
            id: 'file',
            label: pending === undefined ? 'Demandes en attente' : `Demandes en attente (${pending})`,
            render: () => <Queue key={ministry} ministry={ministry} me={me} />,
          },
          {
            id: 'registre',
            label: 'Registre des dérogations',
            render: () => <Register key={ministry} ministry={ministry} />,
          },
          {
            id: 'echeances',
            label: 'Expirent bientôt',
            render: () => <ExpiringSoon key={ministry} ministry={ministry} />,
          },
        ]}
      />
    </>
  );
}
