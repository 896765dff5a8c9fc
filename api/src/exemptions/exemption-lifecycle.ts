import type { ExemptionStatus } from './exemption.entity';

export type ExemptionAction = 'approve' | 'deny' | 'cancel' | 'revoke' | 'expire';

/** pending → approved | denied | cancelled; approved → revoked | expired. Nothing else. */
export const TRANSITIONS: Record<ExemptionAction, { from: ExemptionStatus; to: ExemptionStatus }> = {
  approve: { from: 'pending', to: 'approved' },
  deny: { from: 'pending', to: 'denied' },
  cancel: { from: 'pending', to: 'cancelled' },
  revoke: { from: 'approved', to: 'revoked' },
  expire: { from: 'approved', to: 'expired' },
};

export function nextStatus(current: ExemptionStatus, action: ExemptionAction): ExemptionStatus | null {
  const t = TRANSITIONS[action];
  return t.from === current ? t.to : null;
}

export const REMINDER_DAYS_BEFORE_EXPIRY = 14;
const DAY_MS = 86_400_000;

export function addDays(from: Date, days: number): Date {
  return new Date(from.getTime() + days * DAY_MS);
}
