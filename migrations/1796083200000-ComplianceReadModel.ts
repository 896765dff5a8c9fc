import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The delta rows one statement on `device` adds to the read model, from its transition tables
 * (`changes`: every old row with sign -1, every new row with +1). Enrolled devices only.
 */
function tallyStatement(changes: string): string {
  return `
    WITH changes AS (${changes}),
    c AS (
      INSERT INTO compliance_tally_delta (ministry_code, platform, compliance, os_major, carries_banned, n)
      SELECT ministry_code, platform, compliance, coalesce(split_part(os_version, '.', 1), ''), cardinality(banned_apps) > 0, sum(s)
        FROM changes WHERE unenrolled_at IS NULL
       GROUP BY 1, 2, 3, 4, 5 HAVING sum(s) <> 0),
    a AS (
      INSERT INTO banned_app_tally_delta (ministry_code, platform, app_slug, n)
      SELECT ministry_code, platform, app, sum(s)
        FROM changes CROSS JOIN LATERAL unnest(banned_apps) AS app WHERE unenrolled_at IS NULL
       GROUP BY 1, 2, 3 HAVING sum(s) <> 0)
    INSERT INTO rollout_tally_delta (ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, n)
    SELECT ministry_code, coalesce(group_id, ''), platform, (bucket / 100)::smallint, coalesce(applied_hash, ''),
           push_state = 'failed', compliance = 'non-compliant', sum(s)
      FROM changes WHERE unenrolled_at IS NULL
     GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(s) <> 0`;
}

/**
 * Compliance you can trust, read without scanning the device table:
 * - the facts the compliance evaluator needs (OS version, time of the last complete report, what the
 *   platform could not apply) and its result (state incl. `stale`, structured reasons, banned apps);
 * - counters kept by statement-level triggers on `device`: every statement appends its net change
 *   to `*_delta` tables (append-only: concurrent writers never wait on a counter row), which a job
 *   folds into the `*_tally` tables every minute; the `*_count` views add both up. Compliance by
 *   ministry × platform × state × OS version, phones per banned app, and per group × 1 % bucket band
 *   × applied hash for rollout progress (any stage boundary is a whole percent);
 * - daily snapshots for trends.
 */
export class ComplianceReadModel1796083200000 implements MigrationInterface {
  name = 'ComplianceReadModel1796083200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE device DROP CONSTRAINT IF EXISTS device_compliance_check`);
    await q.query(
      `ALTER TABLE device ADD CONSTRAINT device_compliance_check CHECK (compliance IN ('unknown', 'compliant', 'non-compliant', 'stale'))`,
    );
    await q.query(`
      ALTER TABLE device
        ADD COLUMN os_version text,
        ADD COLUMN reported_at timestamptz,
        ADD COLUMN policy_errors text[] NOT NULL DEFAULT '{}',
        ADD COLUMN compliance_reasons jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN banned_apps text[] NOT NULL DEFAULT '{}',
        ADD COLUMN compliance_at timestamptz`);
    // What was reported before this migration: the evaluator runs on it at the next compliance job.
    await q.query(
      `UPDATE device SET reported_at = coalesce(inventory_at, CASE WHEN compliance <> 'unknown' THEN last_seen_at END)`,
    );
    // A ministry's phones by state (drill-down); for the compliance job: phones whose last report gets
    // old, stale ones back within the limit (it was raised), and those the evaluator has not seen yet.
    await q.query(`CREATE INDEX device_compliance_idx ON device (ministry_code, compliance, display_name, id)`);
    await q.query(
      `CREATE INDEX device_reported_idx ON device (reported_at) WHERE unenrolled_at IS NULL AND reported_at IS NOT NULL AND compliance <> 'stale'`,
    );
    await q.query(`CREATE INDEX device_stale_idx ON device (reported_at) WHERE compliance = 'stale'`);
    await q.query(
      `CREATE INDEX device_unevaluated_idx ON device (id) WHERE compliance_at IS NULL AND reported_at IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE compliance_tally (
        ministry_code text NOT NULL,
        platform text NOT NULL,
        compliance text NOT NULL,
        os_major text NOT NULL,
        carries_banned boolean NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (ministry_code, platform, compliance, os_major, carries_banned)
      )`);
    await q.query(`
      CREATE TABLE banned_app_tally (
        ministry_code text NOT NULL,
        platform text NOT NULL,
        app_slug text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (ministry_code, platform, app_slug)
      )`);
    await q.query(`
      CREATE TABLE rollout_tally (
        ministry_code text NOT NULL,
        group_id text NOT NULL,
        platform text NOT NULL,
        band smallint NOT NULL,
        applied_hash text NOT NULL,
        push_failed boolean NOT NULL,
        non_compliant boolean NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (group_id, band, applied_hash, push_failed, non_compliant, platform, ministry_code)
      )`);
    for (const table of ['compliance_tally', 'banned_app_tally', 'rollout_tally']) {
      await q.query(`CREATE TABLE ${table}_delta (LIKE ${table} INCLUDING DEFAULTS)`);
    }
    await q.query(`CREATE INDEX rollout_tally_ministry_idx ON rollout_tally (ministry_code)`);
    await q.query(`CREATE INDEX rollout_tally_delta_group_idx ON rollout_tally_delta (group_id)`);

    await q.query(`
      CREATE VIEW compliance_count AS
      SELECT ministry_code, platform, compliance, os_major, carries_banned, sum(n)::bigint AS n
        FROM (SELECT ministry_code, platform, compliance, os_major, carries_banned, n FROM compliance_tally
              UNION ALL
              SELECT ministry_code, platform, compliance, os_major, carries_banned, n FROM compliance_tally_delta) t
       GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0`);
    await q.query(`
      CREATE VIEW banned_app_count AS
      SELECT ministry_code, platform, app_slug, sum(n)::bigint AS n
        FROM (SELECT ministry_code, platform, app_slug, n FROM banned_app_tally
              UNION ALL
              SELECT ministry_code, platform, app_slug, n FROM banned_app_tally_delta) t
       GROUP BY 1, 2, 3 HAVING sum(n) <> 0`);
    await q.query(`
      CREATE VIEW rollout_count AS
      SELECT ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, sum(n)::bigint AS n
        FROM (SELECT ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, n FROM rollout_tally
              UNION ALL
              SELECT ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, n FROM rollout_tally_delta) t
       GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0`);

    // One trigger per event: a trigger with transition tables serves one event only.
    const functions: [string, string, string][] = [
      ['insert', 'INSERT', `SELECT 1 AS s, * FROM new_rows`],
      ['delete', 'DELETE', `SELECT -1 AS s, * FROM old_rows`],
      ['update', 'UPDATE', `SELECT -1 AS s, * FROM old_rows UNION ALL SELECT 1 AS s, * FROM new_rows`],
    ];
    for (const [name, event, changes] of functions) {
      await q.query(`
        CREATE FUNCTION device_tally_${name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          ${tallyStatement(changes)};
          RETURN NULL;
        END $$`);
      const referencing =
        event === 'INSERT'
          ? 'NEW TABLE AS new_rows'
          : event === 'DELETE'
            ? 'OLD TABLE AS old_rows'
            : 'OLD TABLE AS old_rows NEW TABLE AS new_rows';
      await q.query(
        `CREATE TRIGGER device_tally_${name} AFTER ${event} ON device REFERENCING ${referencing} FOR EACH STATEMENT EXECUTE FUNCTION device_tally_${name}()`,
      );
    }

    // Folds the deltas into the counters (one statement per table: deltas committed meanwhile wait for the next fold).
    await q.query(`
      CREATE FUNCTION fleet_tally_fold() RETURNS void LANGUAGE sql AS $$
        WITH moved AS (DELETE FROM compliance_tally_delta RETURNING *)
        INSERT INTO compliance_tally AS t (ministry_code, platform, compliance, os_major, carries_banned, n)
        SELECT ministry_code, platform, compliance, os_major, carries_banned, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (ministry_code, platform, compliance, os_major, carries_banned) DO UPDATE SET n = t.n + excluded.n;
        WITH moved AS (DELETE FROM banned_app_tally_delta RETURNING *)
        INSERT INTO banned_app_tally AS t (ministry_code, platform, app_slug, n)
        SELECT ministry_code, platform, app_slug, sum(n) FROM moved GROUP BY 1, 2, 3
        ON CONFLICT (ministry_code, platform, app_slug) DO UPDATE SET n = t.n + excluded.n;
        WITH moved AS (DELETE FROM rollout_tally_delta RETURNING *)
        INSERT INTO rollout_tally AS t (ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, n)
        SELECT ministry_code, group_id, platform, band, applied_hash, push_failed, non_compliant, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (group_id, band, applied_hash, push_failed, non_compliant, platform, ministry_code) DO UPDATE SET n = t.n + excluded.n;
        DELETE FROM compliance_tally WHERE n = 0;
        DELETE FROM banned_app_tally WHERE n = 0;
        DELETE FROM rollout_tally WHERE n = 0;
      $$`);
    // Recounts everything from the device table (after a bulk load, or to check the counters).
    await q.query(`
      CREATE FUNCTION fleet_tally_rebuild() RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        LOCK TABLE device IN SHARE MODE;
        DELETE FROM compliance_tally; DELETE FROM compliance_tally_delta;
        DELETE FROM banned_app_tally; DELETE FROM banned_app_tally_delta;
        DELETE FROM rollout_tally; DELETE FROM rollout_tally_delta;
        ${tallyStatement(`SELECT 1 AS s, * FROM device`)};
        PERFORM fleet_tally_fold();
      END $$`);
    await q.query(`SELECT fleet_tally_rebuild()`);

    await q.query(`
      CREATE TABLE compliance_snapshot (
        day date NOT NULL,
        ministry_code text NOT NULL,
        platform text NOT NULL,
        compliance text NOT NULL,
        phones bigint NOT NULL,
        with_banned_apps bigint NOT NULL,
        taken_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (day, ministry_code, platform, compliance)
      )`);
    await q.query(`
      CREATE TABLE banned_app_snapshot (
        day date NOT NULL,
        ministry_code text NOT NULL,
        platform text NOT NULL,
        app_slug text NOT NULL,
        phones bigint NOT NULL,
        PRIMARY KEY (day, ministry_code, platform, app_slug)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const name of ['insert', 'delete', 'update']) {
      await q.query(`DROP TRIGGER device_tally_${name} ON device`);
      await q.query(`DROP FUNCTION device_tally_${name}()`);
    }
    await q.query(`DROP FUNCTION fleet_tally_rebuild()`);
    await q.query(`DROP FUNCTION fleet_tally_fold()`);
    await q.query(`DROP VIEW compliance_count, banned_app_count, rollout_count`);
    for (const table of ['compliance_tally', 'banned_app_tally', 'rollout_tally'])
      await q.query(`DROP TABLE ${table}, ${table}_delta`);
    await q.query(`DROP TABLE compliance_snapshot, banned_app_snapshot`);
    await q.query(`DROP INDEX device_compliance_idx, device_reported_idx, device_stale_idx, device_unevaluated_idx`);
    await q.query(`UPDATE device SET compliance = 'unknown' WHERE compliance = 'stale'`);
    await q.query(
      `ALTER TABLE device DROP COLUMN os_version, DROP COLUMN reported_at, DROP COLUMN policy_errors, DROP COLUMN compliance_reasons, DROP COLUMN banned_apps, DROP COLUMN compliance_at`,
    );
    await q.query(`ALTER TABLE device DROP CONSTRAINT device_compliance_check`);
    await q.query(
      `ALTER TABLE device ADD CONSTRAINT device_compliance_check CHECK (compliance IN ('unknown', 'compliant', 'non-compliant'))`,
    );
  }
}
