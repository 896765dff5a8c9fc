import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const AGENT_KINDS = ['person', 'service'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

/**
 * A civil servant known through OIDC (ProConnect), attached to one ministry; or the account behind
 * a service token (`kind = 'service'`, no identity provider). `sub`, `idpId` and `uid` are the first
 * identity the agent signed in with; identities met later for the same person are `agent_identity` rows.
 */
@Entity('agent')
export class Agent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', default: 'person' })
  kind: AgentKind;

  @Column({ type: 'text', unique: true })
  sub: string;

  /** ProConnect's identity provider (`idp_id`), when known. */
  @Column({ name: 'idp_id', type: 'text', nullable: true })
  idpId: string | null;

  /** The person's identifier at that identity provider (`uid`), when known. */
  @Column({ type: 'text', nullable: true })
  uid: string | null;

  @Column('text')
  email: string;

  /** Whether the identity provider vouched for the email: only such an email links another identity. */
  @Column({ name: 'email_verified', type: 'boolean', default: true })
  emailVerified: boolean;

  @Column({ name: 'given_name', type: 'text', default: '' })
  givenName: string;

  @Column({ name: 'usual_name', type: 'text', default: '' })
  usualName: string;

  @Column({ name: 'organizational_unit', type: 'text', nullable: true })
  organizationalUnit: string | null;

  @Column({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  /** Set when the account was deactivated: its tokens and sessions are refused from then on. */
  @Column({ name: 'deactivated_at', type: 'timestamptz', nullable: true })
  deactivatedAt: Date | null;

  @Column({ name: 'deactivated_by', type: 'text', nullable: true })
  deactivatedBy: string | null;

  @Column({ name: 'deactivation_reason', type: 'text', nullable: true })
  deactivationReason: string | null;
}
