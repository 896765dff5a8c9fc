import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One request counted in one short function: the row locked, the expired prefix of its (sorted)
 * hits dropped, the request appended unless the window is full. Cheaper than the upsert it replaces
 * (which scanned the array three times), and without the index on expires_at, whose change on every
 * request prevented HOT updates (the minute's sweep scans the small table instead).
 */
export class RateLimitFunction1796093429000 implements MigrationInterface {
  name = 'RateLimitFunction1796093429000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS rate_limit_window_expiry_idx`);
    await q.query(`ALTER TABLE rate_limit_window SET (fillfactor = 50)`);
    await q.query(`
      CREATE FUNCTION rate_limit_hit(p_key text, p_window_ms bigint, p_limit integer,
                                     OUT hits integer, OUT blocked boolean, OUT retry_after_ms bigint)
      LANGUAGE plpgsql AS $$
      DECLARE
        now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
        cur bigint[];
        n integer;
        i integer := 1;
      BEGIN
        LOOP
          SELECT w.hits INTO cur FROM rate_limit_window w WHERE w.key = p_key FOR UPDATE;
          EXIT WHEN FOUND;
          INSERT INTO rate_limit_window (key, hits, blocked, expires_at)
            VALUES (p_key, ARRAY[now_ms], false, clock_timestamp() + make_interval(secs => p_window_ms / 1000.0))
            ON CONFLICT (key) DO NOTHING;
          IF FOUND THEN
            hits := 1; blocked := false; retry_after_ms := p_window_ms;
            RETURN;
          END IF;
        END LOOP;
        n := coalesce(array_length(cur, 1), 0);
        WHILE i <= n AND cur[i] <= now_ms - p_window_ms LOOP
          i := i + 1;
        END LOOP;
        cur := cur[i:n];
        n := n - i + 1;
        blocked := n >= p_limit;
        IF NOT blocked THEN
          cur := cur || now_ms;
          n := n + 1;
        END IF;
        UPDATE rate_limit_window w
           SET hits = cur, blocked = rate_limit_hit.blocked,
               expires_at = to_timestamp((cur[n] + p_window_ms) / 1000.0)
         WHERE w.key = p_key;
        hits := n + CASE WHEN blocked THEN 1 ELSE 0 END;
        retry_after_ms := cur[1] + p_window_ms - now_ms;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION rate_limit_hit(text, bigint, integer)`);
    await q.query(`ALTER TABLE rate_limit_window RESET (fillfactor)`);
    await q.query(`CREATE INDEX rate_limit_window_expiry_idx ON rate_limit_window (expires_at)`);
  }
}
