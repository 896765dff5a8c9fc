import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Actor, Principal } from '../auth/principal';
import { canonicalJson } from '../common/canonical-hash';
import { LONE_SURROGATE } from '../common/input.pipe';
import { GENESIS, queueForChain, rowHash, useAuditKeys } from './audit-chain';
import { AuditCheckpoints, checkpointSignedBy, SignedAuditCheckpoint } from './audit-checkpoints';
import { AuditEvent, AuditHead } from './audit-event.entity';
import { AuditKeys, AuditSettings } from './audit-keys';
import { AuditError } from './audit.error';

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
  /** Events whose keyed chain verified (before the first problem, when it is in the chain itself). */
  checked: number;
  /** The first broken link: a row edited, deleted or inserted out of band, or a rewrite since a signed checkpoint. */
  firstProblem?: { seq: number; problem: string };
  /** The latest signed checkpoint the log was checked against (none written yet: absent). */
  checkpoint?: { seq: number; at: string };
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

/** Settings of the audit log (keys, checkpoint folder), provided by CoreModule. */
export const AUDIT_SETTINGS = Symbol('AUDIT_SETTINGS');

/**
 * Append-only audit log, chained by HMAC under a key kept outside the database, anchored by signed
 * checkpoints written outside it. Writes happen inside the caller's transaction.
 */
@Injectable()
export class AuditService {
  private readonly checkpoints: AuditCheckpoints;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    @Inject(AUDIT_SETTINGS) settings: AuditSettings,
  ) {
    useAuditKeys(db, settings.keys);
    this.checkpoints = new AuditCheckpoints(settings);
  }

  private get keys(): AuditKeys {
    return this.checkpoints.keys;
  }

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

  /**
   * Walks the chain from the start (each row's HMAC under the audit key): detects an edited, deleted,
   * inserted or truncated row, even one whose plain hash was recomputed by whoever holds the owner's
   * password. Then checks the chain against the latest signed checkpoint written outside the database
   * (and `anchor`, one a national admin kept): an event the checkpoint recorded must still be there
   * with the same hash, which catches a rewrite since then even by someone who also has the key.
   */
  async verify(principal: Principal | null, anchor?: unknown): Promise<AuditVerification> {
    if (principal) this.access.requireAccess(principal, 'audit.verify', null);
    if (anchor !== undefined && !checkpointSignedBy(this.keys, anchor))
      throw new AuditError(
        'invalid-checkpoint',
        'invalid',
        "This is not a checkpoint of this audit log: its signature does not verify with the log's key (altered, or made by another service).",
      );
    // One snapshot: rows written while verifying are neither seen nor mistaken for tampering.
    return this.db.transaction('REPEATABLE READ', async (tx) => {
      const chain = await this.walk(tx);
      if (!chain.valid) return chain;
      return this.againstCheckpoints(tx, chain, anchor as SignedAuditCheckpoint | undefined);
    });
  }

  private async walk(tx: EntityManager): Promise<AuditVerification> {
    const head = await tx.getRepository(AuditHead).findOneBy({ id: 1 });
    const headSeq = head?.seq ?? 0;
    if (head?.keyId && head.keyId !== this.keys.id)
      return {
        valid: false,
        checked: 0,
        firstProblem: {
          seq: headSeq,
          problem: `the log is sealed with the audit key ${head.keyId}, not with this service's key (${this.keys.id}): another AUDIT_KEY_FILE, or a head written outside the service`,
        },
      };
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
        if (rowHash(this.keys.chainKey, prevHash, row) !== row.hash)
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
  }

  private async againstCheckpoints(
    tx: EntityManager,
    chain: AuditVerification,
    anchor: SignedAuditCheckpoint | undefined,
  ): Promise<AuditVerification> {
    const [{ database }] = (await tx.query('SELECT current_database() AS database')) as { database: string }[];
    const disk = this.checkpoints.onDisk(database);
    if (disk.problems.length > 0)
      return {
        valid: false,
        checked: chain.checked,
        firstProblem: { seq: 0, problem: `the checkpoint file was altered: ${disk.problems[0]}` },
      };
    if (anchor && anchor.database !== database)
      throw new AuditError(
        'invalid-checkpoint',
        'invalid',
        `This checkpoint is of the database "${anchor.database}", not of this one ("${database}").`,
      );
    const anchors = [disk.latest, anchor ?? null].filter((c): c is SignedAuditCheckpoint => c !== null);
    for (const c of anchors) {
      const when = `the signed checkpoint of ${c.at}`;
      if (c.seq > chain.checked)
        return {
          valid: false,
          checked: chain.checked,
          firstProblem: {
            seq: chain.checked + 1,
            problem: `the log ends at event ${chain.checked}, but ${when} recorded ${c.seq} events: events were deleted and the head of the chain moved back`,
          },
        };
      if (c.seq === 0) continue;
      const [row] = (await tx.query('SELECT hash FROM audit_event WHERE seq = $1', [c.seq])) as { hash: string }[];
      if (row.hash !== c.hash)
        return {
          valid: false,
          checked: chain.checked,
          firstProblem: {
            seq: c.seq,
            problem: `event ${c.seq} no longer has the hash ${when} recorded: the log was rewritten since (this event or one before it)`,
          },
        };
    }
    const latest = anchors.reduce<SignedAuditCheckpoint | null>((a, c) => (!a || c.seq > a.seq ? c : a), null);
    return latest ? { ...chain, checkpoint: { seq: latest.seq, at: latest.at } } : chain;
  }

  /** A signed checkpoint of the chain's head now: written to the checkpoint file, and returned for the caller to keep. */
  async checkpoint(principal: Principal | null): Promise<SignedAuditCheckpoint> {
    if (principal) this.access.requireAccess(principal, 'audit.verify', null);
    return this.db.transaction('REPEATABLE READ', (tx) => this.checkpoints.create(tx));
  }

  /** The periodic checkpoint (worker): written when the head moved since the latest one on disk. */
  async checkpointIfMoved(): Promise<SignedAuditCheckpoint | null> {
    return this.db.transaction('REPEATABLE READ', async (tx) => {
      const current = await this.checkpoints.create(tx, { write: false });
      const { latest } = this.checkpoints.onDisk(current.database);
      if (latest && latest.seq === current.seq && latest.hash === current.hash) return null;
      return this.checkpoints.create(tx);
    });
  }
}
