import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** A rollout as the API shows it: the response schemas of /rollouts and /ministries/{code}/rollout-status. */
export const ROLLOUT_STATUSES = ['preparing', 'running', 'paused', 'completed', 'aborted', 'superseded'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

@ApiSchema({ name: 'RolloutTotals', description: 'Devices of a rollout (or of one stage) by state.' })
export class RolloutTotals {
  @ApiProperty({ type: 'integer' })
  devices: number;

  @ApiProperty({ type: 'integer', description: 'Applied the new policy' })
  converged: number;

  @ApiProperty({
    type: 'integer',
    description:
      'Released, not applied yet: waiting for the phone (switched off or not reported yet; each device shows its last-seen time) or a push being retried. Never counted as failed.',
  })
  pending: number;

  @ApiProperty({
    type: 'integer',
    description: 'Failed with a real error: refused by the platform, or an error the phone reported (not a late phone)',
  })
  failed: number;

  @ApiProperty({ type: 'integer', description: 'Not released yet (later stage)' })
  held: number;

  @ApiProperty({ type: 'integer' })
  nonCompliant: number;
}

@ApiSchema({ name: 'StageProgress', description: 'Progress of one stage of a rollout.' })
export class StageProgress extends RolloutTotals {
  @ApiProperty({ type: 'integer', description: 'Index of the stage' })
  stage: number;

  @ApiProperty({ type: 'integer', description: 'Cumulative percentage of devices released at this stage' })
  percent: number;

  @ApiProperty({ type: 'boolean' })
  released: boolean;
}

@ApiSchema({ name: 'Rollout', description: 'A change on its way to the phones, stage by stage.' })
export class RolloutView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string', description: '"national" or a ministry code' })
  scope: string;

  @ApiProperty({ type: 'string' })
  reason: string;

  @ApiProperty({ enum: [...ROLLOUT_STATUSES], enumName: 'RolloutStatus' })
  status: RolloutStatus;

  @ApiProperty({ type: 'integer', isArray: true, description: 'Cumulative percentages, the last is 100' })
  stages: number[];

  @ApiProperty({ type: 'integer' })
  stageIndex: number;

  @ApiProperty({ type: 'integer' })
  stageWaitSeconds: number;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  stageStartedAt: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When the next stage is released' })
  nextStageAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true })
  pauseReason: string | null;

  @ApiProperty({ type: 'string' })
  createdBy: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  finishedAt: Date | null;

  @ApiProperty({
    type: 'string',
    format: 'uuid',
    nullable: true,
    description:
      'Status "superseded": the newer rollout of the same scope (a rollback or another change) that replaced this one',
  })
  supersededBy: string | null;

  @ApiProperty({ type: 'integer', description: 'Policy groups the change concerns' })
  groups: number;

  @ApiProperty({ type: () => StageProgress, isArray: true })
  progress: StageProgress[];

  @ApiProperty({ type: () => RolloutTotals })
  totals: RolloutTotals;
}

@ApiSchema({ name: 'PlatformProgress' })
export class PlatformProgress {
  @ApiProperty({ type: 'string' })
  platform: string;

  @ApiProperty({ type: 'integer' })
  devices: number;

  @ApiProperty({ type: 'integer' })
  converged: number;
}

@ApiSchema({ name: 'ActiveRollout' })
export class ActiveRollout {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string' })
  scope: string;

  @ApiProperty({ enum: [...ROLLOUT_STATUSES], enumName: 'RolloutStatus' })
  status: RolloutStatus;

  @ApiProperty({ type: 'integer' })
  stageIndex: number;

  @ApiProperty({ type: 'integer', isArray: true })
  stages: number[];
}

@ApiSchema({ name: 'PushFailure', description: 'A device that failed with a real error (its reason).' })
export class PushFailure {
  @ApiProperty({ type: 'string', format: 'uuid' })
  deviceId: string;

  @ApiProperty({ type: 'string' })
  displayName: string;

  @ApiProperty({ type: 'string' })
  platform: string;

  @ApiProperty({ type: 'string', format: 'email' })
  agentEmail: string;

  @ApiProperty({ type: 'string', nullable: true })
  reason: string | null;

  @ApiProperty({ type: 'integer' })
  attempts: number;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastPushAt: Date | null;
}

@ApiSchema({
  name: 'WaitingDevice',
  description:
    'A device whose policy is sent (or already its own) but that has not reported it yet: waiting, not failed.',
})
export class WaitingDevice {
  @ApiProperty({ type: 'string', format: 'uuid' })
  deviceId: string;

  @ApiProperty({ type: 'string' })
  displayName: string;

  @ApiProperty({ type: 'string' })
  platform: string;

  @ApiProperty({ type: 'string', format: 'email', nullable: true, description: 'null: not given to an agent yet' })
  agentEmail: string | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When the phone was last heard from',
  })
  lastSeenAt: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When it was last pushed' })
  lastPushAt: Date | null;
}

@ApiSchema({
  name: 'MinistryRolloutStatus',
  description: 'Devices of a ministry: converged, pending, failed (with reasons), non-compliant.',
})
export class MinistryRolloutStatus {
  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: 'integer' })
  devices: number;

  @ApiProperty({ type: 'integer' })
  converged: number;

  @ApiProperty({ type: 'integer', description: 'Not applied yet: waiting for the phone, or a push being retried' })
  pending: number;

  @ApiProperty({ type: 'integer', description: 'Failed with a real error' })
  failed: number;

  @ApiProperty({ type: 'integer' })
  nonCompliant: number;

  @ApiProperty({ type: () => PlatformProgress, isArray: true })
  byPlatform: PlatformProgress[];

  @ApiProperty({ type: () => ActiveRollout, isArray: true })
  activeRollouts: ActiveRollout[];

  @ApiProperty({ type: () => PushFailure, isArray: true, description: 'At most 200, latest first' })
  failures: PushFailure[];

  @ApiProperty({
    type: () => WaitingDevice,
    isArray: true,
    description: 'Waiting for the phone (not failed): at most 200, silent for the longest first',
  })
  waiting: WaitingDevice[];
}
