import { createContext, useCallback, useContext, useMemo, type ReactNode } from 'react';
import { api } from './api';
import { ministriesWith } from './homes';
import type { Me } from './types';
import { useLoad } from './useLoad';

/**
 * What every page of a signed-in person may need besides their profile: the ministries' names (the
 * API speaks in codes: "interieur"), and the counts shown in the navigation (requests waiting for
 * this approver, this agent's own pending requests, unread notifications), reloaded on every
 * change of page and after a decision. The counts are secondary (useLoad): they wait for the page's
 * own content.
 */
export interface Session {
  ministryName: (code: string | null | undefined) => string;
  /** Pending requests per ministry this person approves for. */
  pendingByMinistry: Record<string, number>;
  pendingTotal: number | undefined;
  myPending: number | undefined;
  unread: number | undefined;
  refreshCounts: () => void;
}

const SessionContext = createContext<Session>({
  ministryName: (code) => code ?? '',
  pendingByMinistry: {},
  pendingTotal: undefined,
  myPending: undefined,
  unread: undefined,
  refreshCounts: () => undefined,
});

export function useSession(): Session {
  return useContext(SessionContext);
}

export function SessionProvider({ me, routeKey, children }: { me: Me; routeKey: string; children: ReactNode }) {
  const approverOf = ministriesWith(me, 'approver');
  const isAgent = me.roles.some((r) => r.role === 'agent');
  const ministries = useLoad(() => api.ministries(), 'ministries');
  const pending = useLoad(
    async () => Object.fromEntries(await Promise.all(approverOf.map(async (m) => [m, await api.pendingCount(m)]))),
    `pending:${approverOf.join(',')}:${routeKey}`,
    true,
  );
  const mine = useLoad(
    async () => (isAgent ? (await api.myExemptions()).filter((e) => e.status === 'pending').length : 0),
    `mine:${routeKey}`,
    true,
  );
  const unread = useLoad(async () => (await api.notifications(true)).length, `unread:${routeKey}`, true);
  const { reload: reloadPending } = pending;
  const { reload: reloadMine } = mine;
  const { reload: reloadUnread } = unread;
  const refreshCounts = useCallback(() => {
    reloadPending();
    reloadMine();
    reloadUnread();
  }, [reloadPending, reloadMine, reloadUnread]);

  const value = useMemo<Session>(() => {
    const names = new Map((ministries.data ?? []).map((m) => [m.code, m.name]));
    const byMinistry = (pending.data ?? {}) as Record<string, number>;
    return {
      ministryName: (code) => (code ? (names.get(code) ?? code) : ''),
      pendingByMinistry: byMinistry,
      pendingTotal: pending.data ? Object.values(byMinistry).reduce((a, b) => a + b, 0) : undefined,
      myPending: mine.data,
      unread: unread.data,
      refreshCounts,
    };
  }, [ministries.data, pending.data, mine.data, unread.data, refreshCounts]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
