import { EntitySubscriberInterface, EventSubscriber, QueryRunner, TransactionCommitEvent } from 'typeorm';
import { canonicalJson, sha256Hex } from '../common/canonical-hash';
import { AuditEvent } from './audit-event.entity';

export const GENESIS = '0'.repeat(64);
/** Serialises appends so that every row links to exactly one predecessor. */
const AUDIT_LOCK_KEY = 727_274_001;

export type UnchainedEvent = Omit<AuditEvent, 'seq' | 'hash' | 'prevHash'>;

export function rowHash(prevHash: string, e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return sha256Hex(
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
  );
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
    const hash = rowHash(prevHash, { ...e, seq });
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
  params.push(seq, prevHash);
  await runner.query(
    `WITH appended AS (
       INSERT INTO audit_event (seq, at, actor_id, actor, action, entity_type, entity_id, ministry_code, before, after, prev_hash, hash)
       VALUES ${rows.join(', ')} RETURNING 1)
     INSERT INTO audit_head (id, seq, hash) VALUES (1, $${params.length - 1}, $${params.length})
     ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash`,
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
