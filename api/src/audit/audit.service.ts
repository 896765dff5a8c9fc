import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Actor, Principal } from '../auth/principal';
import { canonicalJson } from '../common/canonical-hash';
import { LONE_SURROGATE } from '../common/input.pipe';
import { GENESIS, queueForChain, rowHash } from './audit-chain';
import { AuditEvent, AuditHead } from './audit-event.entity';

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  ministry?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditVerification {
  valid: boolean;
  checked: number;
  /** The first broken link: a row edited, deleted or inserted out of band. */
  firstProblem?: { seq: number; problem: string };
}

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * What the jsonb columns can hold, as it will read back: canonical JSON, and every lone surrogate
 * (refused by jsonb; requests carrying one are refused earlier, but a report from Google or a phone
 * may hold one) replaced by U+FFFD, so that recording a change never fails because of its content.
 */
function storable(value: unknown): unknown {
  return JSON.parse(canonicalJson(value), function (this: unknown, _key: string, v: unknown) {
    if (typeof v === 'string') return v.replace(LONE_SURROGATES, '\ufffd');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const keys = Object.keys(v);
    if (!keys.some((k) => LONE_SURROGATE.test(k))) return v;
    return Object.fromEntries(
      keys.map((k) => [k.replace(LONE_SURROGATES, '\ufffd'), (v as Record<string, unknown>)[k]]),
    );
  });
}

/** Append-only audit log, hash-chained. Writes happen inside the caller's transaction. */
@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
  ) {}

  /** Records an event of the caller's transaction; it joins the hash chain when that transaction commits. */
  async record(tx: EntityManager, actor: Actor, entry: AuditEntry): Promise<void> {
    const runner = tx.queryRunner;
    if (!runner?.isTransactionActive)
      throw new Error('Audit events must be written inside the transaction of the change they record');
    queueForChain(runner, {
      // Millisecond precision: what PostgreSQL stores must hash the same when read back.
      at: new Date(Math.floor(Date.now())),
      actorId: actor.id,
      actor: actor.label,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId,
      ministryCode: entry.ministry ?? null,
      before: entry.before === undefined ? null : storable(entry.before),
      after: entry.after === undefined ? null : storable(entry.after),
    });
  }

  async list(
    principal: Principal,
    filter: { ministry?: string; entityType?: string; entityId?: string; limit?: number; beforeSeq?: number },
  ): Promise<AuditEvent[]> {
    const ministries = filter.ministry ? [filter.ministry] : this.access.ministriesWith(principal, 'audit.read');
    if (filter.ministry) this.access.requireAccess(principal, 'audit.read', filter.ministry);
    if (ministries !== null && ministries.length === 0)
      this.access.requireAccess(principal, 'audit.read', principal.ministry);
    const q = this.db
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .orderBy('e.seq', 'DESC')
      .take(Math.min(filter.limit ?? 100, 1000));
    if (ministries !== null) q.andWhere('e.ministry_code = ANY(:ministries)', { ministries });
    if (filter.entityType) q.andWhere('e.entity_type = :t', { t: filter.entityType });
    if (filter.entityId) q.andWhere('e.entity_id = :id', { id: filter.entityId });
    if (filter.beforeSeq) q.andWhere('e.seq < :before', { before: filter.beforeSeq });
    return q.getMany();
  }

  /** Walks the chain from the start: detects an edited, deleted, inserted or truncated row. */
  async verify(principal: Principal | null): Promise<AuditVerification> {
    if (principal) this.access.requireAccess(principal, 'audit.verify', null);
    // One snapshot: rows written while verifying are neither seen nor mistaken for tampering.
    return this.db.transaction('REPEATABLE READ', async (tx) => {
      const head = await tx.getRepository(AuditHead).findOneBy({ id: 1 });
      const headSeq = head?.seq ?? 0;
      const repo = tx.getRepository(AuditEvent);
      let prevHash = GENESIS;
      let expectedSeq = 1;
      let checked = 0;
      const pageSize = 5000;
      while (expectedSeq <= headSeq) {
        const rows = await repo
          .createQueryBuilder('e')
          .where('e.seq >= :from AND e.seq <= :to', { from: expectedSeq, to: headSeq })
          .orderBy('e.seq', 'ASC')
          .take(pageSize)
          .getMany();
        if (rows.length === 0) break;
        for (const row of rows) {
          if (row.seq !== expectedSeq)
            return {
              valid: false,
              checked,
              firstProblem: { seq: expectedSeq, problem: `event ${expectedSeq} is missing (deleted)` },
            };
          if (row.prevHash !== prevHash)
            return {
              valid: false,
              checked,
              firstProblem: { seq: row.seq, problem: 'does not link to the previous event' },
            };
          if (rowHash(prevHash, row) !== row.hash)
            return {
              valid: false,
              checked,
              firstProblem: { seq: row.seq, problem: 'content was modified after it was written' },
            };
          prevHash = row.hash;
          expectedSeq++;
          checked++;
        }
      }
      if (checked < headSeq) {
        return {
          valid: false,
          checked,
          firstProblem: {
            seq: checked + 1,
            problem: `the log ends at event ${checked} but ${headSeq} were written (events deleted at the end)`,
          },
        };
      }
      if (head && head.hash !== prevHash) {
        return {
          valid: false,
          checked,
          firstProblem: { seq: headSeq, problem: 'does not match the recorded head of the chain' },
        };
      }
      const [extra] = (await tx.query('SELECT min(seq) AS seq FROM audit_event WHERE seq > $1', [headSeq])) as {
        seq: string | null;
      }[];
      if (extra.seq !== null) {
        return {
          valid: false,
          checked,
          firstProblem: {
            seq: Number(extra.seq),
            problem: `event ${extra.seq} was added outside the service (after the recorded head)`,
          },
        };
      }
      return { valid: true, checked };
    });
  }
}
