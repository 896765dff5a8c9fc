import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { PolicyContent, PolicyMode } from './policy.types';

/** Immutable: editing a policy writes a new version; a rollback writes a new version with old content. */
@Entity('policy_version')
export class PolicyVersion {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text')
  scope: string;

  @Column('integer')
  version: number;

  @Column('text')
  mode: PolicyMode;

  @Column('jsonb')
  content: PolicyContent;

  @Column({ name: 'content_hash', type: 'text' })
  contentHash: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'text', nullable: true })
  comment: string | null;

  @Column({ name: 'rolled_back_from', type: 'integer', nullable: true })
  rolledBackFrom: number | null;
}
