import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * One owner of device state: every write to a `device` row lives in api/src/devices/ (in
 * DeviceStateService and its insertDevice). Any other file of api/src that writes to the table,
 * in SQL or through TypeORM, fails this test: it must ask DeviceStateService instead.
 */
const SRC = join(__dirname, '..');
const OWNER = join(SRC, 'devices');

const WRITES: { what: string; pattern: RegExp }[] = [
  { what: 'SQL INSERT', pattern: /\bINSERT\s+INTO\s+(?:public\.)?"?device"?(?![\w"])/gi },
  { what: 'SQL UPDATE', pattern: /\bUPDATE\s+(?:ONLY\s+)?(?:public\.)?"?device"?(?![\w"])/gi },
  { what: 'SQL DELETE', pattern: /\bDELETE\s+FROM\s+(?:ONLY\s+)?(?:public\.)?"?device"?(?![\w"])/gi },
  { what: 'SQL MERGE', pattern: /\bMERGE\s+INTO\s+(?:public\.)?"?device"?(?![\w"])/gi },
  { what: 'SQL TRUNCATE / COPY', pattern: /\b(?:TRUNCATE(?:\s+TABLE)?|COPY)\s+(?:public\.)?"?device"?(?![\w"])/gi },
  {
    what: 'TypeORM repository write',
    pattern:
      /getRepository\(\s*Device\s*\)\s*\.\s*(?:save|update|insert|delete|upsert|remove|increment|decrement|softDelete|restore|softRemove)\b/g,
  },
  {
    what: 'TypeORM manager write',
    pattern: /\.\s*(?:save|update|insert|delete|upsert|remove|increment|decrement|softDelete|restore)\(\s*Device\b/g,
  },
  { what: 'TypeORM query builder write', pattern: /\.\s*(?:into|update)\(\s*Device\b/g },
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** A file another change removed meanwhile has nothing to say. */
function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Comments are prose ("we update device state…"), not statements. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

function writesIn(source: string): string[] {
  const text = withoutComments(source);
  return WRITES.flatMap(({ what, pattern }) => [...text.matchAll(pattern)].map((m) => `${what}: ${m[0]}`));
}

describe('device state has one owner', () => {
  it('recognises every way of writing a device row, and nothing else', () => {
    const writes = [
      'INSERT INTO device (platform) VALUES ($1)',
      'UPDATE device d SET compliance = $2',
      'update   "device" set x = 1',
      'DELETE FROM device WHERE id = $1',
      'TRUNCATE device',
      'db.getRepository(Device).update({ id }, { agentId })',
      'tx.getRepository( Device ).save(device)',
      'manager.update(Device, { id }, {})',
      'qb.insert().into(Device).values({})',
    ];
    for (const sample of writes)
      expect({ sample, found: writesIn(sample).length > 0 }).toEqual({ sample, found: true });
    const reads = [
      'SELECT * FROM device d JOIN policy_group g ON g.id = d.group_id',
      'INSERT INTO device_tally_delta (n) VALUES (1)',
      'UPDATE device_group SET x = 1',
      'getRepository(Device).findOneBy({ id })',
      'UPDATE devices SET x = 1',
      '// we update device rows elsewhere',
      '/** then INSERT INTO device happens in the owner */',
    ];
    for (const sample of reads) expect({ sample, found: writesIn(sample) }).toEqual({ sample, found: [] });
  });

  it('finds no write to the device table outside api/src/devices/', () => {
    const offenders = sources(SRC)
      .filter((file) => !file.startsWith(OWNER + '/'))
      .flatMap((file) => writesIn(read(file)).map((w) => `${relative(SRC, file)}: ${w}`));
    expect(offenders).toEqual([]);
  });

  it('finds the writes in their owner (the scan is not looking at nothing)', () => {
    const owner = readFileSync(join(OWNER, 'device-state.service.ts'), 'utf8');
    expect(writesIn(owner).length).toBeGreaterThan(15);
  });
});
