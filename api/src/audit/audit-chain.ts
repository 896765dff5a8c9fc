import { createHmac } from 'node:crypto';
import { DataSource, EntitySubscriberInterface, EventSubscriber, QueryRunner, TransactionCommitEvent } from 'typeorm';
import { canonicalJson } from '../common/canonical-hash';
import { AuditEvent } from './audit-event.entity';
import type { AuditKeys } from './audit-keys';

export const GENESIS = '0'.repeat(64);
/** Serialises appends so that every row links to exactly one predecessor. */
const AUDIT_LOCK_KEY = 727_274_001;

export type UnchainedEvent = Omit<AuditEvent, 'seq' | 'hash' | 'prevHash'>;

/**
 * A row's hash: HMAC-SHA256 under the audit chain key (kept outside the database, see audit-keys.ts)
 * of the previous row's hash and the row's canonical content. Whoever can write the tables but not
 * read the key cannot recompute the chain after editing a row.
 */
export function rowHash(chainKey: Buffer, prevHash: string, e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return createHmac('sha256', chainKey)
    .update(
      prevHash +
        canonicalJson({
          seq: e.seq,
          at: e.at.toISOString(),
          actorId: e.actorId,
          actor: e.actor,
          action: e.action,
          entityType: e.entityType,
          entityId: e.entityId,
          ministryCode: e.ministryCode,
          before: e.before ?? null,
          after: e.after ?? null,
        }),
    )
    .digest('hex');
}

/** The keys of each data source's audit log, registered by AuditService (the subscriber has no injection). */
const keysOf = new WeakMap<DataSource, AuditKeys>();

export function useAuditKeys(db: DataSource, keys: AuditKeys): void {
  keysOf.set(db, keys);
}

function auditKeysOf(db: DataSource): AuditKeys {
  const keys = keysOf.get(db);
  if (!keys) throw new Error('No audit key is loaded for this data source: the audit log cannot be appended to');
  return keys;
}

/** Events recorded in a transaction, chained when it commits. */
const pending = new WeakMap<QueryRunner, UnchainedEvent[]>();

export function queueForChain(runner: QueryRunner, event: UnchainedEvent): void {
  const list = pending.get(runner);
  if (list) list.push(event);
  else pending.set(runner, [event]);
}

/**
 * The chain is appended at commit, not where the event is recorded: the lock that orders the chain
 * is then held for three statements and the COMMIT, instead of for the rest of the transaction (under
 * 300 requests/s, most of the latency was transactions queueing on that lock while their holder waited
 * for its turn on the event loop). Rows still commit or roll back with the change they record.
 */
async function appendPending(runner: QueryRunner): Promise<void> {
  const events = pending.get(runner);
  if (!events || events.length === 0) return;
  pending.delete(runner);
  const keys = auditKeysOf(runner.connection);
  await runner.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
  // A statement after the lock: READ COMMITTED reads the head the previous holder committed.
  const [head] = (await runner.query('SELECT seq, hash FROM audit_head WHERE id = 1')) as {
    seq: string;
    hash: string;
  }[];
  let seq = head ? Number(head.seq) : 0;
  let prevHash = head?.hash ?? GENESIS;
  const params: unknown[] = [];
  const rows: string[] = [];
  for (const e of events) {
    seq++;
    const hash = rowHash(keys.chainKey, prevHash, { ...e, seq });
    const values = [
      seq,
      e.at,
      e.actorId,
      e.actor,
      e.action,
      e.entityType,
      e.entityId,
      e.ministryCode,
      e.before === null ? null : JSON.stringify(e.before),
      e.after === null ? null : JSON.stringify(e.after),
      prevHash,
      hash,
    ];
    rows.push(`(${values.map((_, i) => `$${params.length + i + 1}`).join(', ')})`);
    params.push(...values);
    prevHash = hash;
  }
  params.push(seq, prevHash, keys.id);
  await runner.query(
    `WITH appended AS (
       INSERT INTO audit_event (seq, at, actor_id, actor, action, entity_type, entity_id, ministry_code, before, after, prev_hash, hash)
       VALUES ${rows.join(', ')} RETURNING 1)
     INSERT INTO audit_head (id, seq, hash, key_id) VALUES (1, $${params.length - 2}, $${params.length - 1}, $${params.length})
     ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, key_id = EXCLUDED.key_id`,
    params,
  );
}

/** Registered on the one data source: appends the transaction's audit events just before COMMIT. */
@EventSubscriber()
export class AuditChainSubscriber implements EntitySubscriberInterface {
  beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    return appendPending(event.queryRunner);
  }
}
