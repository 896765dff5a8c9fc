import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import type { ExemptionStatus } from './exemption-view';

export { EXEMPTION_STATUSES, type ExemptionStatus } from './exemption-view';

@Entity('exemption')
export class Exemption {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId: string;

  @Column({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @Column({ name: 'app_slug', type: 'text' })
  appSlug: string;

  /** Null: every device of the agent. */
  @Column({ name: 'device_id', type: 'uuid', nullable: true })
  deviceId: string | null;

  @Column('text')
  justification: string;

  @Column({ name: 'requested_days', type: 'integer' })
  requestedDays: number;

  @Column('text')
  status: ExemptionStatus;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt: Date;

  @Column({ name: 'decided_by', type: 'uuid', nullable: true })
  decidedBy: string | null;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt: Date | null;

  @Column({ name: 'decision_reason', type: 'text', nullable: true })
  decisionReason: string | null;

  @Column({ name: 'valid_from', type: 'timestamptz', nullable: true })
  validFrom: Date | null;

  @Column({ name: 'valid_until', type: 'timestamptz', nullable: true })
  validUntil: Date | null;

  /** What the approver granted: at most what was requested and the rule's maximum. */
  @Column({ name: 'approved_days', type: 'integer', nullable: true })
  approvedDays: number | null;

  @Column({ name: 'renewal_of', type: 'uuid', nullable: true })
  renewalOf: string | null;

  @Column({ name: 'expiry_reminded_at', type: 'timestamptz', nullable: true })
  expiryRemindedAt: Date | null;
}
