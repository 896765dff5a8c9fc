import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A civil servant known through OIDC (ProConnect), attached to one ministry. */
@Entity('agent')
export class Agent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', unique: true })
  sub: string;

  @Column('text')
  email: string;

  @Column({ name: 'given_name', type: 'text', default: '' })
  givenName: string;

  @Column({ name: 'usual_name', type: 'text', default: '' })
  usualName: string;

  @Column({ name: 'ministry_code', type: 'text' })
  ministryCode: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;
}
