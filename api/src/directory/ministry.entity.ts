import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity('ministry')
export class Ministry {
  @PrimaryColumn('text')
  code: string;

  @Column('text')
  name: string;

  @Column({ name: 'email_domains', type: 'text', array: true, default: () => "'{}'" })
  emailDomains: string[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  siret: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
