import { DataSource } from 'typeorm';

/** Apps a ministry's agents commonly ask an exemption for (in the demo catalog). */
export const QUEUE_APPS = ['tiktok', 'x', 'instagram', 'facebook', 'snapchat', 'whatsapp', 'signal', 'zoom'];

/**
 * Tops up `ministry`'s pending requests to exactly `total`, as an approvers' queue of a big ministry:
 * one synthetic agent per request (`queue-<n>`), the apps of QUEUE_APPS in turn, requested
 * (n % 60) days and 12 to 13 hours ago — never within an hour of a whole number of days, so that an
 * age filter counts the same while a test runs. Used by the browser test and the queue bench.
 */
export async function seedPendingQueue(db: DataSource, ministry: string, total: number): Promise<number> {
  const [{ n: already }] = (await db.query(
    `SELECT count(*)::int AS n FROM exemption WHERE ministry_code = $1 AND status = 'pending'`,
    [ministry],
  )) as { n: number }[];
  const missing = Math.max(0, total - already);
  const batch = 2_500;
  for (let from = 1; from <= missing; from += batch) {
    const to = Math.min(missing, from + batch - 1);
    await db.query(
      `WITH s AS (SELECT g FROM generate_series($2::int, $3::int) g),
            a AS (INSERT INTO agent (sub, email, given_name, usual_name, ministry_code)
                  SELECT 'queue-' || $1 || '-' || g, 'file.' || lpad(g::text, 5, '0') || '@' || $1 || '.gouv.fr',
                         'Agent', 'File ' || lpad(g::text, 5, '0'), $1
                    FROM s RETURNING id, sub)
       INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at)
       SELECT a.id, $1, ($4::text[])[1 + (split_part(a.sub, '-', 3)::int % array_length($4::text[], 1))],
              'Besoin institutionnel de communication de crise (file à grande échelle)', 30, 'pending',
              now() - make_interval(days => split_part(a.sub, '-', 3)::int % 60, hours => 12,
                                    secs => split_part(a.sub, '-', 3)::int % 3600)
         FROM a`,
      [ministry, from, to, QUEUE_APPS],
    );
  }
  return missing;
}
