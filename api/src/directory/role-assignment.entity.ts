import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const ROLES = ['agent', 'approver', 'it-admin', 'national-admin'] as const;
export type Role = (typeof ROLES)[number];

/** A role held in one ministry (national-admin is the only role held nationally). */
@Entity('role_assignment')
export class RoleAssignment {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId: string;

  @Column('text')
  role: Role;

  @Column({ name: 'ministry_code', type: 'text', nullable: true })
  ministryCode: string | null;

  @Column({ name: 'granted_by', type: 'text' })
  grantedBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
