import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { RolloutStatus } from './rollout.view';

export type { RolloutStatus };

/** A policy change on its way to the phones, optionally in stages (e.g. 1 % → 10 % → 100 %). */
@Entity('rollout')
export class Rollout {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text')
  scope: string;

  @Column('text')
  reason: string;

  @Column('text')
  status: RolloutStatus;

  /** Cumulative percentages of devices released by each stage; the last one is 100. */
  @Column({ type: 'integer', array: true })
  stages: number[];

  @Column({ name: 'stage_index', type: 'integer' })
  stageIndex: number;

  @Column({ name: 'stage_wait_seconds', type: 'integer' })
  stageWaitSeconds: number;

  @Column({ name: 'stage_started_at', type: 'timestamptz', nullable: true })
  stageStartedAt: Date | null;

  @Column({ name: 'pause_reason', type: 'text', nullable: true })
  pauseReason: string | null;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  /** Status `superseded`: the newer rollout of the same scope that replaced this one. */
  @Column({ name: 'superseded_by', type: 'uuid', nullable: true })
  supersededBy: string | null;
}

@Entity('rollout_group')
export class RolloutGroup {
  @PrimaryColumn({ name: 'rollout_id', type: 'uuid' })
  rolloutId: string;

  @PrimaryColumn({ name: 'group_id', type: 'text' })
  groupId: string;

  @Column({ name: 'from_hash', type: 'text', nullable: true })
  fromHash: string | null;

  @Column({ name: 'to_hash', type: 'text' })
  toHash: string;
}
