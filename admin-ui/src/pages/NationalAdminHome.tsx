import { SectionTabs } from '../components/SectionTabs';
import { Baseline } from './national/Baseline';
import { Catalog } from './national/Catalog';
import { Dashboard } from './national/Dashboard';
import { Roles } from './national/Roles';

export function NationalAdminHome({ section }: { section: string | undefined }) {
  return (
    <>
      <h1>Administration nationale</h1>
      <SectionTabs
        home="national"
        label="Administration nationale"
        selected={section}
        sections={[
          { id: 'tableau-de-bord', label: 'Tableau de bord', render: () => <Dashboard /> },
          { id: 'socle', label: 'Socle national', render: () => <Baseline /> },
          { id: 'catalogue', label: 'Catalogue', render: () => <Catalog /> },
          { id: 'roles', label: 'Rôles', render: () => <Roles /> },
        ]}
      />
    </>
  );
}
