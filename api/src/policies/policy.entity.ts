import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** One per scope: `national` or a ministry code; points at its current immutable version. */
@Entity('policy')
export class Policy {
  @PrimaryColumn('text')
  scope: string;

  @Column({ name: 'current_version', type: 'integer' })
  currentVersion: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
