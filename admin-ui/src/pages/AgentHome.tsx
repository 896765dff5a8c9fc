import { SectionTabs } from '../components/SectionTabs';
import { useSession } from '../session';
import type { Me } from '../types';
import { MyDevices } from './agent/MyDevices';
import { MyRequests } from './agent/MyRequests';
import { RequestForm } from './agent/RequestForm';

export function AgentHome({ me, section }: { me: Me; section: string | undefined }) {
  const { myPending } = useSession();
  return (
    <>
      <h1>Mon espace agent</h1>
      <p>Bonjour {me.displayName} : voici les règles de vos téléphones professionnels, et vos demandes.</p>
      <SectionTabs
        home="agent"
        label="Mon espace agent"
        selected={section}
        sections={[
          { id: 'appareils', label: 'Mes appareils', render: () => <MyDevices /> },
          { id: 'derogation', label: 'Demander une dérogation', render: () => <RequestForm /> },
          {
            id: 'demandes',
            label: myPending ? `Mes demandes (${myPending} en attente)` : 'Mes demandes',
            render: () => <MyRequests />,
          },
        ]}
      />
    </>
  );
}
