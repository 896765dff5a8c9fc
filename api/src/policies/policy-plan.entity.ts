import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Plan } from './plan/plan.types';

/** A reviewed plan saved by the API so that `apply` applies exactly what was shown. */
@Entity('policy_plan')
export class PolicyPlan {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'text', array: true })
  scopes: string[];

  @Column({ name: 'base_fingerprint', type: 'text' })
  baseFingerprint: string;

  @Column('jsonb')
  plan: Plan;

  @Column('text')
  status: 'planned' | 'applied';

  @Column({ name: 'applied_at', type: 'timestamptz', nullable: true })
  appliedAt: Date | null;

  @Column({ name: 'applied_by', type: 'text', nullable: true })
  appliedBy: string | null;
}
