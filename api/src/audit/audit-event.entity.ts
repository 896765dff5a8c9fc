import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Append-only; each row's hash (an HMAC under the audit key) covers its content and the previous row's hash. */
@Entity('audit_event')
export class AuditEvent {
  @PrimaryColumn({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  seq: number;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column('text')
  actor: string;

  @Column('text')
  action: string;

  @Column({ name: 'entity_type', type: 'text' })
  entityType: string;

  @Column({ name: 'entity_id', type: 'text' })
  entityId: string;

  @Column({ name: 'ministry_code', type: 'text', nullable: true })
  ministryCode: string | null;

  @Column({ type: 'jsonb', nullable: true })
  before: unknown;

  @Column({ type: 'jsonb', nullable: true })
  after: unknown;

  @Column({ name: 'prev_hash', type: 'text' })
  prevHash: string;

  @Column('text')
  hash: string;
}

@Entity('audit_head')
export class AuditHead {
  @PrimaryColumn('smallint')
  id: number;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  seq: number;

  @Column('text')
  hash: string;

  /** The audit key the chain is sealed with (AuditKeys.id). */
  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId: string | null;
}
