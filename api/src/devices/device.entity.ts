import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ComplianceReason, ComplianceState } from '../compliance/compliance-evaluator';
import type { Platform } from './platforms';

export type { Platform };
export type Ownership = 'company' | 'personal';
export type Compliance = ComplianceState;
export type PushState = 'ok' | 'retrying' | 'failed';

export interface InstalledApp {
  id: string;
  version?: string;
  managed?: boolean;
}

@Entity('device')
export class Device {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text')
  platform: Platform;

  @Column('text')
  ownership: Ownership;

  /** Null for a phone enrolled with a ministry-wide token, until IT gives it to an agent. */
  @Column({ name: 'agent_id', type: 'uuid', nullable: true })
  agentId: string | null;

  @Column({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @Column({ name: 'display_name', type: 'text' })
  displayName: string;

  @Column({ type: 'text', nullable: true })
  model: string | null;

  @Column({ name: 'android_device_name', type: 'text', nullable: true })
  androidDeviceName: string | null;

  @Column({ name: 'apple_udid', type: 'text', nullable: true })
  appleUdid: string | null;

  @Column({ name: 'enrolled_at', type: 'timestamptz' })
  enrolledAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt: Date | null;

  @Column({ name: 'installed_apps', type: 'jsonb' })
  installedApps: InstalledApp[];

  /** Devices sharing a ministry and a set of exempted apps share a group, and its desired policy. */
  @Column({ name: 'group_id', type: 'text', nullable: true })
  groupId: string | null;

  /** Stable position in [0, 10000): a staged rollout at p % releases the devices below p × 100. */
  @Column('integer')
  bucket: number;

  /** Shared-policy platforms (Android): the platform policy the device is attached to. */
  @Column({ name: 'bound_policy', type: 'text', nullable: true })
  boundPolicy: string | null;

  /** Per-device platforms (Apple): the hash last pushed to the device. */
  @Column({ name: 'pushed_hash', type: 'text', nullable: true })
  pushedHash: string | null;

  @Column({ name: 'push_state', type: 'text' })
  pushState: PushState;

  @Column({ name: 'push_attempts', type: 'integer' })
  pushAttempts: number;

  @Column({ name: 'last_push_at', type: 'timestamptz', nullable: true })
  lastPushAt: Date | null;

  @Column({ name: 'push_error', type: 'text', nullable: true })
  pushError: string | null;

  @Column({ name: 'applied_hash', type: 'text', nullable: true })
  appliedHash: string | null;

  @Column('text')
  compliance: Compliance;

  /** Why the device is not compliant, as a person reads it (a banned app installed, not supervised…). */
  @Column({ name: 'compliance_reason', type: 'text', nullable: true })
  complianceReason: string | null;

  /** The same reasons, one by one, with a stable code (and the app for banned or required apps). */
  @Column({ name: 'compliance_reasons', type: 'jsonb' })
  complianceReasons: ComplianceReason[];

  /** Banned apps (catalog slugs, no exemption) installed at the last report. */
  @Column({ name: 'banned_apps', type: 'text', array: true })
  bannedApps: string[];

  /** When compliance was last evaluated (a report arrived, or the desired policy changed). */
  @Column({ name: 'compliance_at', type: 'timestamptz', nullable: true })
  complianceAt: Date | null;

  /** When the phone last sent a complete report (Android status report, Apple inventory); null: never. */
  @Column({ name: 'reported_at', type: 'timestamptz', nullable: true })
  reportedAt: Date | null;

  @Column({ name: 'os_version', type: 'text', nullable: true })
  osVersion: string | null;

  /** What the platform reported it could not apply. */
  @Column({ name: 'policy_errors', type: 'text', array: true })
  policyErrors: string[];

  @Column({ name: 'unenrolled_at', type: 'timestamptz', nullable: true })
  unenrolledAt: Date | null;
}
