import { createHmac, createHash } from 'node:crypto';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { canonicalJson } from '../api/src/common/canonical-hash';
import { auditSettingsFromEnv } from '../api/src/audit/audit-keys';

const GENESIS = '0'.repeat(64);

interface Row {
  seq: string;
  at: Date;
  actor_id: string | null;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  ministry_code: string | null;
  before: unknown;
  after: unknown;
  prev_hash: string;
  hash: string;
}

function content(r: Row): string {
  return canonicalJson({
    seq: Number(r.seq),
    at: r.at.toISOString(),
    actorId: r.actor_id,
    actor: r.actor,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    ministryCode: r.ministry_code,
    before: r.before ?? null,
    after: r.after ?? null,
  });
}

/**
 * The audit chain becomes keyed: each event's hash is an HMAC-SHA256 under a key kept outside the
 * database (AUDIT_KEY_FILE), so that whoever can write the tables but not read that file cannot
 * recompute the chain after editing an event. audit_head.key_id names the key the chain is sealed
 * with. A log written before (plain SHA-256) is checked, then sealed again with the key, as the
 * owner, in this migration: a log that does not verify is not sealed (that would launder it).
 */
export class AuditKeyedChain1796093420000 implements MigrationInterface {
  name = 'AuditKeyedChain1796093420000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_head ADD COLUMN key_id text`);
    const [head] = (await q.query(`SELECT seq, hash FROM audit_head WHERE id = 1`)) as { seq: string; hash: string }[];
    if (!head) return;
    const { keys } = auditSettingsFromEnv();
    let prev = GENESIS;
    const sealed: { seq: string; prev: string; hash: string }[] = [];
    let plainPrev = GENESIS;
    for (let from = 1; ; from += 5000) {
      const rows = (await q.query(`SELECT * FROM audit_event WHERE seq >= $1 ORDER BY seq LIMIT 5000`, [
        from,
      ])) as Row[];
      for (const r of rows) {
        const plain = createHash('sha256')
          .update(plainPrev + content(r))
          .digest('hex');
        if (Number(r.seq) !== sealed.length + 1 || r.prev_hash !== plainPrev || r.hash !== plain)
          throw new Error(
            `The audit log does not verify at event ${r.seq}: it is not sealed with the key (that would hide the damage). Restore the audit_event table from a backup, then start again.`,
          );
        plainPrev = r.hash;
        const hash = createHmac('sha256', keys.chainKey)
          .update(prev + content(r))
          .digest('hex');
        sealed.push({ seq: r.seq, prev, hash });
        prev = hash;
      }
      if (rows.length < 5000) break;
    }
    if (sealed.length !== Number(head.seq) || plainPrev !== head.hash)
      throw new Error(
        `The audit log does not verify: its head says event ${head.seq}, the table ends at ${sealed.length}. Restore it from a backup, then start again.`,
      );
    for (let i = 0; i < sealed.length; i += 1000) {
      const batch = sealed.slice(i, i + 1000);
      await q.query(
        `UPDATE audit_event e SET prev_hash = v.prev, hash = v.hash
           FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(seq, prev, hash) WHERE e.seq = v.seq`,
        [batch.map((s) => s.seq), batch.map((s) => s.prev), batch.map((s) => s.hash)],
      );
    }
    await q.query(`UPDATE audit_head SET hash = $1, key_id = $2 WHERE id = 1`, [prev, keys.id]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_head DROP COLUMN key_id`);
  }
}
