import { useState } from 'react';
import { MinistryPicker } from '../components/MinistryPicker';
import { SectionTabs } from '../components/SectionTabs';
import { ministriesWith } from '../homes';
import { useRoute } from '../router';
import { useSession } from '../session';
import type { Me } from '../types';
import { AndroidHealth } from './it/AndroidHealth';
import { Devices } from './it/Devices';
import { Enrollment } from './it/Enrollment';
import { PolicyEditor } from './it/PolicyEditor';
import { Rollouts } from './it/Rollouts';
import { Versions } from './it/Versions';

export function ItAdminHome({ me, section }: { me: Me; section: string | undefined }) {
  const codes = ministriesWith(me, 'it-admin');
  const [ministry, setMinistry] = useState(codes[0] ?? me.ministry);
  const { ministryName } = useSession();
  const names = Object.fromEntries(codes.map((c) => [c, ministryName(c)]));
  // #/informatique/appareils/<id>: a device of the list, opened in its tab.
  const route = useRoute();
  const deviceId = section === 'appareils' ? route.segments[2] : undefined;
  // A device page shows the device's ministry, when this IT holds it (the back link then lists its fleet).
  const showMinistry = (code: string) => {
    if (codes.includes(code)) setMinistry(code);
  };
  return (
    <>
      <h1>Politique et parc du ministère</h1>
      <p className="fr-text--lead">Ministère : {ministryName(ministry)}</p>
      <MinistryPicker codes={codes} value={ministry} onChange={setMinistry} names={names} />
      <SectionTabs
        home="informatique"
        label="Politique et parc du ministère"
        selected={section}
        sections={[
          { id: 'politique', label: 'Politique', render: () => <PolicyEditor key={ministry} ministry={ministry} /> },
          { id: 'versions', label: 'Historique', render: () => <Versions key={ministry} scope={ministry} /> },
          { id: 'deploiements', label: 'Déploiements', render: () => <Rollouts key={ministry} /> },
          {
            id: 'appareils',
            label: 'Appareils',
            render: () => <Devices key={ministry} ministry={ministry} deviceId={deviceId} onMinistry={showMinistry} />,
          },
          { id: 'enrolement', label: 'Enrôlement', render: () => <Enrollment key={ministry} ministry={ministry} /> },
          { id: 'android', label: 'Android', render: () => <AndroidHealth key={ministry} ministry={ministry} /> },
        ]}
      />
    </>
  );
}
