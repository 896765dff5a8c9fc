import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** The Android Enterprise a ministry's phones belong to (`enterprises/LC…`). */
@Entity('android_enterprise')
export class AndroidEnterprise {
  @PrimaryColumn({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @Column({ name: 'enterprise_name', type: 'text' })
  enterpriseName: string;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName: string | null;

  /** The Pub/Sub topic Google had on the enterprise once bound (null: Google sends no notification). */
  @Column({ name: 'pubsub_topic', type: 'text', nullable: true })
  pubsubTopic: string | null;

  /** The notification types Google had enabled on the enterprise once bound. */
  @Column({ name: 'notification_types', type: 'text', array: true, default: () => "'{}'" })
  notificationTypes: string[];

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

@Entity('android_enrollment_token')
export class AndroidEnrollmentToken {
  @PrimaryColumn('text')
  name: string;

  @Column({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @Column({ name: 'agent_id', type: 'uuid', nullable: true })
  agentId: string | null;

  @Column({ name: 'personal_usage', type: 'text' })
  personalUsage: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
