/** French labels for the API's vocabulary, and date formatting. */
import type { DeviceCommand } from './client';
import type {
  Compliance,
  ExemptionStatus,
  Ownership,
  Platform,
  PolicyMode,
  Role,
  RolloutStatus,
  RuleAction,
} from './types';

export const ROLE_LABELS: Record<Role, string> = {
  agent: 'Agent',
  approver: 'Valideur (direction du numérique)',
  'it-admin': 'Administrateur informatique',
  'national-admin': 'Administrateur national',
};

export const STATUS_LABELS: Record<ExemptionStatus, string> = {
  pending: 'En attente',
  approved: 'Approuvée',
  denied: 'Refusée',
  cancelled: 'Annulée',
  revoked: 'Révoquée',
  expired: 'Expirée',
};

export const ACTION_LABELS: Record<RuleAction, string> = {
  block: 'Bloquée',
  require: 'Obligatoire',
  allow: 'Autorisée',
};

export const PLATFORM_LABELS: Record<Platform, string> = { android: 'Android', ios: 'iOS' };

export const OWNERSHIP_LABELS: Record<Ownership, string> = {
  company: 'Propriété de l’administration',
  personal: 'Personnel',
};

export const COMPLIANCE_LABELS: Record<Compliance, string> = {
  compliant: 'Conforme',
  'non-compliant': 'Non conforme',
  unknown: 'Inconnue',
  stale: 'Rapport trop ancien',
};

export const ROLLOUT_STATUS_LABELS: Record<RolloutStatus, string> = {
  preparing: 'En préparation',
  running: 'En cours',
  paused: 'En pause',
  completed: 'Terminé',
  aborted: 'Interrompu',
  superseded: 'Remplacé',
};

export const CATEGORY_LABELS: Record<string, string> = {
  'recreational-social': 'Réseau social récréatif',
  'recreational-streaming': 'Streaming récréatif',
  'recreational-game': 'Jeu',
  'recreational-dating': 'Rencontres',
  'foreign-videoconference': 'Visioconférence étrangère',
  'foreign-messaging': 'Messagerie étrangère',
  sovereign: 'Outil souverain',
  productivity: 'Bureautique',
  security: 'Sécurité',
};

/** An Apple command's state (GET /devices/{id}/commands): queued, sent and not-now are still to be done. */
export const COMMAND_STATUS_LABELS: Record<DeviceCommand['status'], string> = {
  queued: 'En file',
  sent: 'Envoyée, sans réponse',
  'not-now': 'Reportée par l’appareil',
  acknowledged: 'Exécutée',
  error: 'En erreur',
  cancelled: 'Annulée',
};

export const POLICY_MODE_LABELS: Record<PolicyMode, string> = {
  blocklist: 'Liste de blocage',
  allowlist: 'Liste d’autorisation',
};

const dateFmt = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long' });
const dateTimeFmt = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short' });

export function formatDate(iso: string | null | undefined): string {
  return iso ? dateFmt.format(new Date(iso)) : '—';
}

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTimeFmt.format(new Date(iso)) : '—';
}

export function daysUntil(iso: string, now: number = Date.now()): number {
  return Math.ceil((new Date(iso).getTime() - now) / 86_400_000);
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('fr-FR')} ${n > 1 ? many : one}`;
}
