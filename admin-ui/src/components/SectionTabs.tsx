import { Tabs } from '@codegouvfr/react-dsfr/Tabs';
import type { ReactNode } from 'react';
import { navigate } from '../router';

export interface Section {
  id: string;
  label: string;
  render: () => ReactNode;
}

/** DSFR tabs bound to the URL (#/<home>/<section>): only the open tab loads its data. */
export function SectionTabs({
  home,
  sections,
  selected,
  label,
}: {
  home: string;
  sections: Section[];
  selected: string | undefined;
  label: string;
}) {
  const current = sections.find((s) => s.id === selected) ?? sections[0];
  if (!current) return null;
  return (
    <Tabs
      label={label}
      selectedTabId={current.id}
      tabs={sections.map((s) => ({ tabId: s.id, label: s.label }))}
      onTabChange={(id) => navigate(home, id)}
    >
      {current.render()}
    </Tabs>
  );
}
