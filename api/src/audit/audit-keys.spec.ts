import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditKeyError, auditSettingsFor, deriveAuditKeys, signatureValid, signWith } from './audit-keys';

describe('audit key settings', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'mdm-audit-key-'));

  it('generate the key once into a mode-600 file next to the embedded data, for a local demo', () => {
    const data = dir();
    const env = { EMBEDDED_PG_DIR: join(data, 'pg') };
    const first = auditSettingsFor(env);
    const file = join(data, 'audit.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(first.checkpointDir).toBe(join(data, 'audit-checkpoints'));
    const second = auditSettingsFor(env);
    expect(second.keys.id).toBe(first.keys.id);
    expect(second.keys.chainKey.equals(first.keys.chainKey)).toBe(true);
  });

  it('are required with a database of its own or in production: no key is made up on a replica', () => {
    for (const env of [{ DATABASE_URL: 'postgres://u:p@db/mdm' }, { NODE_ENV: 'production' }]) {
      expect(() => auditSettingsFor({ ...env, EMBEDDED_PG_DIR: join(dir(), 'pg') })).toThrow(
        /^AUDIT_KEY_FILE must name the file holding the audit log key/,
      );
      const key = join(dir(), 'k');
      writeFileSync(key, 'a'.repeat(64), { mode: 0o600 });
      expect(() => auditSettingsFor({ ...env, AUDIT_KEY_FILE: key, EMBEDDED_PG_DIR: '.data/pg' })).toThrow(
        /^AUDIT_CHECKPOINT_DIR must name a folder outside the database/,
      );
      expect(
        auditSettingsFor({ ...env, AUDIT_KEY_FILE: key, AUDIT_CHECKPOINT_DIR: dir(), EMBEDDED_PG_DIR: '.data/pg' }).keys
          .id,
      ).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('refuse a key file that is missing, too short, or writable by others', () => {
    const d = dir();
    const env = (file: string) => ({ AUDIT_KEY_FILE: file, AUDIT_CHECKPOINT_DIR: d, EMBEDDED_PG_DIR: '.data/pg' });
    expect(() => auditSettingsFor(env(join(d, 'none')))).toThrow(AuditKeyError);
    writeFileSync(join(d, 'short'), 'abcd', { mode: 0o600 });
    expect(() => auditSettingsFor(env(join(d, 'short')))).toThrow(/holds 2 bytes of key: at least 32/);
    writeFileSync(join(d, 'open'), 'b'.repeat(64), { mode: 0o600 });
    chmodSync(join(d, 'open'), 0o666);
    expect(() => auditSettingsFor(env(join(d, 'open')))).toThrow(/may be changed by other users/);
  });

  it('derive distinct chain and signing keys; signatures verify with the public key only', () => {
    const a = deriveAuditKeys(Buffer.alloc(32, 1));
    const b = deriveAuditKeys(Buffer.alloc(32, 2));
    expect(a.id).not.toBe(b.id);
    const signature = signWith(a, 'head 12 abc');
    expect(signatureValid(a, 'head 12 abc', signature)).toBe(true);
    expect(signatureValid(a, 'head 13 abc', signature)).toBe(false);
    expect(signatureValid(b, 'head 12 abc', signature)).toBe(false);
    expect(signatureValid(a, 'head 12 abc', 'not base64 !')).toBe(false);
  });
});
