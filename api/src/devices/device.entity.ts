import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type Platform = 'android' | 'ios';
export type Ownership = 'company' | 'personal';
export type Compliance = 'unknown' | 'compliant' | 'non-compliant';

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

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId: string;

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

  @Column({ name: 'desired_hash', type: 'text', nullable: true })
  desiredHash: string | null;

  @Column({ name: 'applied_hash', type: 'text', nullable: true })
  appliedHash: string | null;

  @Column('text')
  compliance: Compliance;
}
