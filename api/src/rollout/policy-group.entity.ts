import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { EffectivePolicy } from '../policies/effective-policy.resolver';

/**
 * Devices of one ministry with the same exempted apps: one effective policy, computed once.
 * On shared-policy platforms (Android) the group is one platform policy, named by `id`.
 */
@Entity('policy_group')
export class PolicyGroup {
  @PrimaryColumn('text')
  id: string;

  @Column({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @Column({ name: 'exempted_apps', type: 'text', array: true })
  exemptedApps: string[];

  @Column({ name: 'desired_hash', type: 'text' })
  desiredHash: string;

  @Column('jsonb')
  effective: EffectivePolicy;

  @Column('integer')
  generation: number;

  @Column({ name: 'shared_published_hash', type: 'text', nullable: true })
  sharedPublishedHash: string | null;

  @Column({ name: 'shared_canary_hash', type: 'text', nullable: true })
  sharedCanaryHash: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
