import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rollout engine: devices grouped by what their effective policy is made of, the desired
 * state held once per group (a baseline change writes groups, not devices), staged rollouts.
 */
export class RolloutEngine1732370000002 implements MigrationInterface {
  name = 'RolloutEngine1732370000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE policy_group (
        id text PRIMARY KEY,
        ministry_code text NOT NULL REFERENCES ministry(code),
        exempted_apps text[] NOT NULL DEFAULT '{}',
        desired_hash text NOT NULL,
        effective jsonb NOT NULL,
        generation integer NOT NULL DEFAULT 1,
        shared_published_hash text,
        shared_canary_hash text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (ministry_code, exempted_apps)
      )`);
    await q.query(`
      CREATE TABLE rollout (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope text NOT NULL,
        reason text NOT NULL,
        status text NOT NULL CHECK (status IN ('preparing', 'running', 'paused', 'completed', 'aborted')),
        stages integer[] NOT NULL CHECK (array_length(stages, 1) >= 1 AND stages[array_length(stages, 1)] = 100),
        stage_index integer NOT NULL DEFAULT 0,
        stage_wait_seconds integer NOT NULL DEFAULT 0 CHECK (stage_wait_seconds >= 0),
        stage_started_at timestamptz,
        pause_reason text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX rollout_active_idx ON rollout (status) WHERE status IN ('preparing', 'running', 'paused')`,
    );
    await q.query(`
      CREATE TABLE rollout_group (
        rollout_id uuid NOT NULL REFERENCES rollout(id) ON DELETE CASCADE,
        group_id text NOT NULL REFERENCES policy_group(id),
        from_hash text,
        to_hash text NOT NULL,
        PRIMARY KEY (rollout_id, group_id)
      )`);
    await q.query(`CREATE INDEX rollout_group_group_idx ON rollout_group (group_id)`);
    await q.query(`ALTER TABLE device DROP COLUMN desired_hash`);
    await q.query(`ALTER TABLE device ADD COLUMN group_id text REFERENCES policy_group(id)`);
    // A stable position in [0, 10000) decides in which stage of a staged rollout the device comes.
    await q.query(
      `ALTER TABLE device ADD COLUMN bucket integer NOT NULL DEFAULT floor(random() * 10000) CHECK (bucket >= 0 AND bucket < 10000)`,
    );
    await q.query(`ALTER TABLE device ADD COLUMN bound_policy text`);
    await q.query(`ALTER TABLE device ADD COLUMN pushed_hash text`);
    await q.query(
      `ALTER TABLE device ADD COLUMN push_state text NOT NULL DEFAULT 'ok' CHECK (push_state IN ('ok', 'retrying', 'failed'))`,
    );
    await q.query(`ALTER TABLE device ADD COLUMN push_attempts integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE device ADD COLUMN last_push_at timestamptz`);
    await q.query(`ALTER TABLE device ADD COLUMN push_error text`);
    await q.query(`CREATE INDEX device_group_idx ON device (group_id, bucket)`);
    await q.query(`CREATE INDEX device_push_state_idx ON device (ministry_code, push_state) WHERE push_state <> 'ok'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX device_group_idx, device_push_state_idx`);
    await q.query(
      `ALTER TABLE device DROP COLUMN group_id, DROP COLUMN bucket, DROP COLUMN bound_policy, DROP COLUMN pushed_hash, DROP COLUMN push_state, DROP COLUMN push_attempts, DROP COLUMN last_push_at, DROP COLUMN push_error`,
    );
    await q.query(`ALTER TABLE device ADD COLUMN desired_hash text`);
    await q.query(`DROP TABLE rollout_group`);
    await q.query(`DROP TABLE rollout`);
    await q.query(`DROP TABLE policy_group`);
  }
}
