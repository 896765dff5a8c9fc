/** A rollout as the API shows it: plain types, shared with the admin interface (types only). */
export type RolloutStatus = 'preparing' | 'running' | 'paused' | 'completed' | 'aborted';

export interface StageProgress {
  stage: number;
  percent: number;
  released: boolean;
  devices: number;
  converged: number;
  pending: number;
  failed: number;
  held: number;
  nonCompliant: number;
}

export interface RolloutView {
  id: string;
  scope: string;
  reason: string;
  status: RolloutStatus;
  stages: number[];
  stageIndex: number;
  stageWaitSeconds: number;
  stageStartedAt: Date | null;
  nextStageAt: Date | null;
  pauseReason: string | null;
  createdBy: string;
  createdAt: Date;
  finishedAt: Date | null;
  groups: number;
  progress: StageProgress[];
  totals: Omit<StageProgress, 'stage' | 'percent' | 'released'>;
}

export interface MinistryRolloutStatus {
  ministry: string;
  devices: number;
  converged: number;
  pending: number;
  failed: number;
  nonCompliant: number;
  byPlatform: { platform: string; devices: number; converged: number }[];
  activeRollouts: { id: string; scope: string; status: RolloutStatus; stageIndex: number; stages: number[] }[];
  failures: {
    deviceId: string;
    displayName: string;
    platform: string;
    agentEmail: string;
    reason: string | null;
    attempts: number;
    lastPushAt: Date | null;
  }[];
}
