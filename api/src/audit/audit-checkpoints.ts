import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EntityManager } from 'typeorm';
import { canonicalJson } from '../common/canonical-hash';
import { GENESIS } from './audit-chain';
import { AuditKeys, AuditSettings, signatureValid, signWith } from './audit-keys';

export const CHECKPOINT_FORMAT = 'mdm-apps-etat/audit-checkpoint/1';

/** The head of the chain at one moment, signed with the audit key: what a rewrite since then cannot match. */
export interface AuditCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** The database the log lives in. */
  database: string;
  /** The hash of the log's first event: which chain this is. */
  chain: string;
  /** The last event then, and its hash. */
  seq: number;
  hash: string;
  at: string;
  /** The key that signed it (AuditKeys.id). */
  keyId: string;
}

export interface SignedAuditCheckpoint extends AuditCheckpoint {
  /** Ed25519 over the canonical JSON of the fields above, base64. */
  signature: string;
  /** The public key that checks the signature (PEM), for those who keep checkpoints outside the service. */
  publicKey: string;
}

/** What the checkpoints on disk say: the latest valid one, and the lines that are not valid checkpoints of this log. */
export interface CheckpointsOnDisk {
  latest: SignedAuditCheckpoint | null;
  problems: string[];
}

function signedPart(c: AuditCheckpoint): string {
  return canonicalJson({
    format: c.format,
    database: c.database,
    chain: c.chain,
    seq: c.seq,
    hash: c.hash,
    at: c.at,
    keyId: c.keyId,
  });
}

/** Whether `value` is a checkpoint signed with these keys (whatever public key it carries). */
export function checkpointSignedBy(keys: AuditKeys, value: unknown): value is SignedAuditCheckpoint {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<SignedAuditCheckpoint>;
  if (
    c.format !== CHECKPOINT_FORMAT ||
    typeof c.database !== 'string' ||
    typeof c.chain !== 'string' ||
    typeof c.seq !== 'number' ||
    !Number.isSafeInteger(c.seq) ||
    c.seq < 0 ||
    typeof c.hash !== 'string' ||
    typeof c.at !== 'string' ||
    typeof c.keyId !== 'string' ||
    typeof c.signature !== 'string'
  )
    return false;
  return signatureValid(keys, signedPart(c as AuditCheckpoint), c.signature);
}

/**
 * Signed checkpoints of the audit chain's head, written outside the database: appended to
 * `<AUDIT_CHECKPOINT_DIR>/<database>.jsonl` (one JSON line each, fsync'd), and given to a national
 * admin who asks for one (POST /audit/checkpoints) to keep. Verification (AuditService.verify)
 * then finds a rewrite of anything up to the latest checkpoint, even by someone holding the
 * database owner's password and the chain key: the checkpoint's signature is checked against the
 * key, and the event it names must still have the hash it had.
 */
export class AuditCheckpoints {
  constructor(private readonly settings: AuditSettings) {}

  get keys(): AuditKeys {
    return this.settings.keys;
  }

  /** The head of the chain as `tx` sees it, signed; appended to the checkpoint file when one is configured. */
  async create(tx: EntityManager, options: { write: boolean } = { write: true }): Promise<SignedAuditCheckpoint> {
    const [row] = (await tx.query(
      `SELECT current_database() AS database, h.seq, h.hash, (SELECT hash FROM audit_event WHERE seq = 1) AS chain
         FROM (SELECT 1) one LEFT JOIN audit_head h ON h.id = 1`,
    )) as { database: string; seq: string | null; hash: string | null; chain: string | null }[];
    const checkpoint: AuditCheckpoint = {
      format: CHECKPOINT_FORMAT,
      database: row.database,
      chain: row.chain ?? GENESIS,
      seq: Number(row.seq ?? 0),
      hash: row.hash ?? GENESIS,
      at: new Date().toISOString(),
      keyId: this.keys.id,
    };
    const signed: SignedAuditCheckpoint = {
      ...checkpoint,
      signature: signWith(this.keys, signedPart(checkpoint)),
      publicKey: this.keys.publicKeyPem,
    };
    if (options.write) this.append(signed);
    return signed;
  }

  private fileOf(database: string): string | null {
    if (!this.settings.checkpointDir) return null;
    // Database names are identifiers; anything else in a file name is replaced.
    return join(this.settings.checkpointDir, `${database.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`);
  }

  private append(c: SignedAuditCheckpoint): void {
    const file = this.fileOf(c.database);
    if (!file || !this.settings.checkpointDir) return;
    mkdirSync(this.settings.checkpointDir, { recursive: true, mode: 0o700 });
    const fd = openSync(file, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(c)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** The latest valid checkpoint of `database` on disk, and what is wrong with the file (a line altered, another key…). */
  onDisk(database: string): CheckpointsOnDisk {
    const file = this.fileOf(database);
    if (!file || !existsSync(file)) return { latest: null, problems: [] };
    const lines = readFileSync(file, 'utf8').split('\n');
    const problems: string[] = [];
    let latest: SignedAuditCheckpoint | null = null;
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        // A line cut short by a crash while it was written is the last one, without its newline.
        if (i < lines.length - 1) problems.push(`line ${i + 1} of ${file} is not a checkpoint`);
        return;
      }
      if (!checkpointSignedBy(this.keys, value)) {
        problems.push(`line ${i + 1} of ${file} does not carry a valid signature of this log's key`);
        return;
      }
      if (value.database !== database) {
        problems.push(`line ${i + 1} of ${file} is a checkpoint of another database (${value.database})`);
        return;
      }
      if (!latest || value.seq >= latest.seq) latest = value;
    });
    return { latest, problems };
  }
}
