import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The audit log's keys, derived from one secret kept outside the database (AUDIT_KEY_FILE): the
 * HMAC key that chains the events (who can write the database but not read this file cannot
 * recompute the chain), and an Ed25519 key pair that signs checkpoints of the chain's head (anyone
 * holding the public key can check a checkpoint; only the service can make one).
 */
export interface AuditKeys {
  /** Names the key (not secret): 16 hex characters of the SHA-256 of the public checkpoint key. */
  id: string;
  chainKey: Buffer;
  signingKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as PEM (SPKI), given with each checkpoint for those who keep them. */
  publicKeyPem: string;
}

export interface AuditSettings {
  keys: AuditKeys;
  /** Where signed checkpoints are appended (one file per database); null: none written to disk. */
  checkpointDir: string | null;
}

/** A setting problem told in one sentence at start-up. */
export class AuditKeyError extends Error {}

/** Bytes of secret at least. */
const MIN_SECRET_BYTES = 32;
const SALT = 'mdm-apps-etat audit log';
/** PKCS#8 prefix of a raw 32-byte Ed25519 private key (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function deriveAuditKeys(secret: Buffer): AuditKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, SALT, info, 32));
  const signingKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, derive('checkpoint signing key')]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(signingKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    id: createHash('sha256').update(spki).digest('hex').slice(0, 16),
    chainKey: derive('hash chain key'),
    signingKey,
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function signWith(keys: AuditKeys, text: string): string {
  return sign(null, Buffer.from(text, 'utf8'), keys.signingKey).toString('base64');
}

export function signatureValid(keys: AuditKeys, text: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(text, 'utf8'), keys.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The secret in a key file: hex (64+ digits), base64, or the raw bytes; at least 32 bytes. */
export function readAuditSecret(file: string): Buffer {
  if (!existsSync(file))
    throw new AuditKeyError(
      `AUDIT_KEY_FILE names ${file}, which does not exist: create it with at least 32 random bytes (openssl rand -hex 32 > ${file}; chmod 600 ${file}).`,
    );
  if (process.platform !== 'win32' && (statSync(file).mode & 0o022) !== 0)
    throw new AuditKeyError(
      `The audit key file ${file} may be changed by other users (group or world writable): chmod 600 ${file}.`,
    );
  const raw = readFileSync(file);
  const text = raw.toString('utf8').trim();
  let secret = raw;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) secret = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) secret = Buffer.from(text, 'base64');
  if (secret.length < MIN_SECRET_BYTES)
    throw new AuditKeyError(
      `The audit key file ${file} holds ${secret.length} bytes of key: at least ${MIN_SECRET_BYTES} random bytes are needed (openssl rand -hex 32 > ${file}).`,
    );
  return secret;
}

/** Reads the key file, creating it first (32 random bytes, hex, mode 600) when it does not exist yet. */
export function readOrCreateAuditSecret(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      // Another process of ours created it at the same moment: read theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return readAuditSecret(file);
}

/** What the settings are read from (AppConfig's fields of the same names). */
export interface AuditEnvironment {
  AUDIT_KEY_FILE?: string;
  AUDIT_CHECKPOINT_DIR?: string;
  DATABASE_URL?: string;
  NODE_ENV?: string;
  EMBEDDED_PG_DIR: string;
}

/**
 * AUDIT_KEY_FILE and AUDIT_CHECKPOINT_DIR. For a local demo on the embedded PostgreSQL they default
 * to files next to its data (`.data/audit.key`, generated once with mode 600, and
 * `.data/audit-checkpoints/`); with a database of one's own (DATABASE_URL) or NODE_ENV=production
 * both must be set: a key generated on a replica's disk would differ from the others'.
 */
export function auditSettingsFor(env: AuditEnvironment): AuditSettings {
  const local = !env.DATABASE_URL && env.NODE_ENV !== 'production';
  const dataRoot = dirname(resolve(env.EMBEDDED_PG_DIR));
  let secret: Buffer;
  if (env.AUDIT_KEY_FILE) secret = readAuditSecret(resolve(env.AUDIT_KEY_FILE));
  else if (local) secret = readOrCreateAuditSecret(resolve(dataRoot, 'audit.key'));
  else
    throw new AuditKeyError(
      'AUDIT_KEY_FILE must name the file holding the audit log key (at least 32 random bytes: openssl rand -hex 32 > /etc/mdm/audit.key; chmod 600 /etc/mdm/audit.key), the same file for every replica, kept outside the database and its backups.',
    );
  let checkpointDir: string;
  if (env.AUDIT_CHECKPOINT_DIR) checkpointDir = resolve(env.AUDIT_CHECKPOINT_DIR);
  else if (local) checkpointDir = resolve(dataRoot, 'audit-checkpoints');
  else
    throw new AuditKeyError(
      'AUDIT_CHECKPOINT_DIR must name a folder outside the database where the signed checkpoints of the audit log are written (shared by the replicas; ideally append-only storage).',
    );
  return { keys: deriveAuditKeys(secret), checkpointDir };
}

/** The same, read straight from the environment (for the migration that seals an older log; AppConfig's defaults). */
export function auditSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuditSettings {
  return auditSettingsFor({
    AUDIT_KEY_FILE: env.AUDIT_KEY_FILE || undefined,
    AUDIT_CHECKPOINT_DIR: env.AUDIT_CHECKPOINT_DIR || undefined,
    DATABASE_URL: env.DATABASE_URL || undefined,
    NODE_ENV: env.NODE_ENV || undefined,
    EMBEDDED_PG_DIR: env.EMBEDDED_PG_DIR || '.data/pg',
  });
}
