import { useState } from 'react';
import { MinistryPicker } from '../components/MinistryPicker';
import { SectionTabs } from '../components/SectionTabs';
import { ministriesWith } from '../homes';
import type { Me } from '../types';
import { ExpiringSoon } from './approver/ExpiringSoon';
import { Queue } from './approver/Queue';
import { Register } from './approver/Register';

export function ApproverHome({ me, section }: { me: Me; section: string | undefined }) {
  const codes = ministriesWith(me, 'approver');
  const [ministry, setMinistry] = useState(codes[0] ?? me.ministry);
  return (
    <>
      <h1>Validation des dérogations</h1>
      <p className="fr-text--lead">Ministère : {ministry}</p>
      <MinistryPicker codes={codes} value={ministry} onChange={setMinistry} />
      <SectionTabs
        home="validation"
        label="Validation des dérogations"
        selected={section}
        sections={[
          {
            id: 'file',
            label: 'Demandes en attente',
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
