import type { Me, Role } from './types';

export type HomeId = 'agent' | 'validation' | 'informatique' | 'conformite' | 'national';

export interface Home {
  id: HomeId;
  /** Any one of these roles opens the home. */
  roles: Role[];
  label: string;
}

/** The homes, in this order in the menu. */
export const HOMES: Home[] = [
  { id: 'agent', roles: ['agent'], label: 'Mon espace agent' },
  { id: 'validation', roles: ['approver'], label: 'Validation des dérogations' },
  { id: 'informatique', roles: ['it-admin'], label: 'Politique et parc du ministère' },
  // National admins read every ministry's compliance in their own home (Tableau de bord).
  { id: 'conformite', roles: ['it-admin', 'approver'], label: 'Conformité du parc' },
  { id: 'national', roles: ['national-admin'], label: 'Administration nationale' },
];

export function homesOf(me: Me): Home[] {
  return HOMES.filter((h) => me.roles.some((r) => h.roles.includes(r.role)));
}

/** Ministries in which the user holds `role`, sorted. */
export function ministriesWith(me: Me, role: Role): string[] {
  return [...new Set(me.roles.filter((r) => r.role === role && r.ministry).map((r) => r.ministry as string))].sort();
}

/**
 * Where a person lands (#/): the home of their most demanding role, not the agent space every
 * official also has. A national administrator lands on the national administration, IT on its
 * ministry's policy and fleet, an approver on the queue.
 */
const LANDING_ORDER: HomeId[] = ['national', 'informatique', 'validation', 'conformite', 'agent'];

export function landingHome(homes: Home[]): Home | undefined {
  for (const id of LANDING_ORDER) {
    const home = homes.find((h) => h.id === id);
    if (home) return home;
  }
  return undefined;
}
