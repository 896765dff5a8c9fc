import type { Me, Role } from './types';

export type HomeId = 'agent' | 'validation' | 'informatique' | 'national';

export interface Home {
  id: HomeId;
  role: Role;
  label: string;
}

/** One home per role, in this order in the menu. */
export const HOMES: Home[] = [
  { id: 'agent', role: 'agent', label: 'Mon espace agent' },
  { id: 'validation', role: 'approver', label: 'Validation des dérogations' },
  { id: 'informatique', role: 'it-admin', label: 'Politique et parc du ministère' },
  { id: 'national', role: 'national-admin', label: 'Administration nationale' },
];

export function homesOf(me: Me): Home[] {
  return HOMES.filter((h) => me.roles.some((r) => r.role === h.role));
}

/** Ministries in which the user holds `role`, sorted. */
export function ministriesWith(me: Me, role: Role): string[] {
  return [...new Set(me.roles.filter((r) => r.role === role && r.ministry).map((r) => r.ministry as string))].sort();
}
