import { Table, type TableProps } from '@codegouvfr/react-dsfr/Table';
import { useEffect, useRef } from 'react';

/**
 * A DSFR table whose content may be wider than the screen (package names, long ids): the table
 * scrolls sideways, so it must take the keyboard focus for a keyboard user to scroll it (WCAG
 * 2.1.1; axe "scrollable-region-focusable"). Its caption names it when focused.
 */
export function ScrollTable(props: TableProps) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const table = ref.current?.querySelector('table');
    if (table && table.tabIndex !== 0) table.tabIndex = 0;
  });
  return <Table ref={ref} {...props} />;
}
