import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A rollout replaced by a newer one of the same scope (a rollback or another apply) ends as
 * `superseded`, naming its successor, instead of staying "running" with nothing more to push.
 */
export class RolloutSuperseded1796100800000 implements MigrationInterface {
  name = 'RolloutSuperseded1796100800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rollout DROP CONSTRAINT rollout_status_check`);
    await q.query(
      `ALTER TABLE rollout ADD CONSTRAINT rollout_status_check
         CHECK (status IN ('preparing', 'running', 'paused', 'completed', 'aborted', 'superseded'))`,
    );
    await q.query(`ALTER TABLE rollout ADD COLUMN superseded_by uuid REFERENCES rollout(id)`);
    await q.query(
      `ALTER TABLE rollout ADD CONSTRAINT rollout_superseded_by_check CHECK ((status = 'superseded') = (superseded_by IS NOT NULL))`,
    );
    // Rollouts already stuck behind a newer one of their scope: superseded by the newest.
    await q.query(`
      UPDATE rollout r SET status = 'superseded', finished_at = now(),
             superseded_by = (SELECT n.id FROM rollout n WHERE n.scope = r.scope AND n.created_at > r.created_at
                               ORDER BY n.created_at DESC LIMIT 1)
       WHERE r.status IN ('preparing', 'running', 'paused')
         AND EXISTS (SELECT 1 FROM rollout n WHERE n.scope = r.scope AND n.created_at > r.created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE rollout SET status = 'aborted' WHERE status = 'superseded'`);
    await q.query(`ALTER TABLE rollout DROP CONSTRAINT rollout_superseded_by_check`);
    await q.query(`ALTER TABLE rollout DROP COLUMN superseded_by`);
    await q.query(`ALTER TABLE rollout DROP CONSTRAINT rollout_status_check`);
    await q.query(
      `ALTER TABLE rollout ADD CONSTRAINT rollout_status_check
         CHECK (status IN ('preparing', 'running', 'paused', 'completed', 'aborted'))`,
    );
  }
}
