/**
 * Hostile-input fuzzing shared by the CI tests (api/test/fuzz-*.e2e-spec.ts) and the long run
 * (bench/fuzz.bench.ts): generators of bad requests, the runner, the checks on every answer, and a
 * fingerprint of the database to prove that nothing was written.
 *
 * Every generated write carries at least one defect that must make the service refuse it (a wrong
 * type, an unknown field, a truncated body, an id that does not exist...), plus optional noise (huge
 * strings, unicode oddities, prototype keys, deep nesting) elsewhere. So any 2xx on a write is a
 * finding, like any 5xx or any refusal without a JSON `message`.
 */
import fc from 'fast-check';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface FuzzRequest {
  /** Endpoint (or target) name, for the per-target counts. */
  target: string;
  method: HttpMethod;
  path: string;
  /** Demo login whose bearer token is sent; none: anonymous. */
  login?: string;
  contentType?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** What the case does wrong. */
  defect: string;
  /** Writes carrying a defect must be refused; reads may succeed. */
  mustRefuse: boolean;
}

export interface FuzzFailure {
  target: string;
  defect: string;
  request: string;
  status: number;
  problem: string;
  answer: string;
}

export interface FuzzStats {
  cases: number;
  byStatus: Record<string, number>;
  byTarget: Record<string, number>;
  failures: FuzzFailure[];
}

export function emptyStats(): FuzzStats {
  return { cases: 0, byStatus: {}, byTarget: {}, failures: [] };
}

export function mergeStats(into: FuzzStats, from: FuzzStats): FuzzStats {
  into.cases += from.cases;
  for (const [k, v] of Object.entries(from.byStatus)) into.byStatus[k] = (into.byStatus[k] ?? 0) + v;
  for (const [k, v] of Object.entries(from.byTarget)) into.byTarget[k] = (into.byTarget[k] ?? 0) + v;
  into.failures.push(...from.failures);
  return into;
}

const MAX_FAILURES_KEPT = 50;

function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? '' : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body;
  const shown = body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
  const path = req.path.length > 300 ? `${req.path.slice(0, 300)}… (${req.path.length} chars)` : req.path;
  return `${req.method.toUpperCase()} ${path} as ${req.login ?? 'anonymous'} [${req.contentType ?? '-'}] ${shown}`;
}

/** The promise every answer keeps: no 5xx; a refusal is a 4xx JSON body with a readable message; a defective write is refused. */
export function problemWith(
  req: FuzzRequest,
  status: number,
  contentType: string | undefined,
  text: string,
): string | null {
  if (status >= 500) return `server error ${status}`;
  if (status >= 400) {
    if (!contentType?.includes('application/json'))
      return `refusal ${status} is not JSON (${contentType ?? 'no content type'})`;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `refusal ${status} has a body that does not parse as JSON`;
    }
    const message = (body as { message?: unknown } | null)?.message;
    if (typeof message !== 'string' || message.trim().length < 5) return `refusal ${status} without a readable message`;
    return null;
  }
  if (req.mustRefuse) return `accepted with ${status} although the request has a defect: ${req.defect}`;
  return null;
}

/** Sends one case in-process (supertest on the app's server) and records the outcome. */
export async function runCase(
  server: Server,
  tokens: Map<string, string>,
  req: FuzzRequest,
  stats: FuzzStats,
): Promise<void> {
  let test = request(server)[req.method](req.path);
  if (req.login) {
    const token = tokens.get(req.login);
    if (!token) throw new Error(`no token for ${req.login}`);
    test = test.set('Authorization', `Bearer ${token}`);
  }
  for (const [k, v] of Object.entries(req.headers ?? {})) test = test.set(k, v);
  if (req.contentType) test = test.set('Content-Type', req.contentType);
  // The raw answer text: superagent would otherwise parse (or refuse to parse) it itself.
  test = test.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
  });
  if (req.body !== undefined) test = test.send(req.body);
  let status: number;
  let contentType: string | undefined;
  let text: string;
  try {
    const res = await test;
    status = res.status;
    contentType = res.headers['content-type'] as string | undefined;
    text = typeof res.body === 'string' ? res.body : '';
  } catch (e) {
    status = 0;
    text = (e as Error).message;
  }
  stats.cases++;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  stats.byTarget[req.target] = (stats.byTarget[req.target] ?? 0) + 1;
  const problem = status === 0 ? `no answer: ${text}` : problemWith(req, status, contentType, text);
  // A few examples of each kind of failure, rather than the first fifty of the most frequent one.
  const kind = problem ? `${req.target} ${problem.replace(/:.*/, '')}` : '';
  if (
    problem &&
    stats.failures.length < MAX_FAILURES_KEPT &&
    stats.failures.filter((f) => `${f.target} ${f.problem.replace(/:.*/, '')}` === kind).length < 3
  ) {
    stats.failures.push({
      target: req.target,
      defect: req.defect,
      request: describeRequest(req),
      status,
      problem,
      answer: text.slice(0, 400),
    });
  }
}

/** Runs the cases with a few requests in flight (the service is meant to take concurrent traffic). */
export async function runCases(
  server: Server,
  tokens: Map<string, string>,
  cases: FuzzRequest[],
  concurrency = 6,
  onDone?: () => void,
): Promise<FuzzStats> {
  const stats = emptyStats();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, cases.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= cases.length) return;
        await runCase(server, tokens, cases[i], stats);
        onDone?.();
      }
    }),
  );
  return stats;
}

export function formatStats(label: string, stats: FuzzStats): string {
  const statuses = Object.entries(stats.byStatus)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  return `${label}: ${stats.cases} cases (${statuses})`;
}

// --- Database fingerprint ----------------------------------------------------------------------

/**
 * A hash of the content of every table (and the job queue's size): equal before and after a run
 * means nothing was written. `ignore` lists columns a refused request may still touch (e.g. the
 * last time a device spoke, which an authenticated but refused MDM message updates); '*' skips the table.
 */
export async function databaseFingerprint(
  db: DataSource,
  ignore: Record<string, string[]> = {},
): Promise<Record<string, string>> {
  const tables = (await db.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  )) as { table_name: string }[];
  const out: Record<string, string> = {};
  for (const { table_name: table } of tables) {
    // The rate-limit counters count every request, refused or not: bookkeeping of the traffic, not a write of its content.
    const skip = table === 'rate_limit_window' ? ['*'] : (ignore[table] ?? []);
    if (skip.includes('*')) continue;
    const row = skip.length > 0 ? `(to_jsonb(t) - ${skip.map((c) => `'${c}'`).join(' - ')})::text` : 't::text';
    const [{ n, h }] = (await db.query(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(${row}, '|' ORDER BY ${row}), '')) AS h FROM "${table}" t`,
    )) as { n: number; h: string }[];
    out[table] = `${n} rows ${h}`;
  }
  const [queue] = (await db.query(`SELECT to_regclass('pgboss.job') AS t`)) as { t: string | null }[];
  if (queue.t)
    out['pgboss.job'] =
      `${((await db.query(`SELECT count(*)::int AS n FROM pgboss.job`)) as { n: number }[])[0].n} jobs`;
  return out;
}

/** /health still answers 200 (the process and the database connection survived). */
export async function healthy(server: Server): Promise<boolean> {
  const res = await request(server).get('/health');
  return res.status === 200;
}

// --- Values ------------------------------------------------------------------------------------

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202eevil',
  '\ufeff',
  '\ud800',
  '\udfff\ud800',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  'ﷺ',
  '\u200b\u200c\u200d',
  'e\u0301',
  '../../etc/passwd',
  "' OR 1=1 --",
  '"; DROP TABLE agent; --',
  '%00',
  '%',
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  '\\',
  '\r\n\t',
];

export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '𝕏', '\u0000', '"'), fc.integer({ min: 1_000, max: 150_000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);

/** A value nested `depth` times, as objects or arrays. */
export function nested(depth: number, kind: 'object' | 'array'): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === 'object' ? { a: v } : [v];
  return v;
}

/** Deep nesting, written as JSON text directly (JSON.stringify itself would recurse). */
export function nestedJson(depth: number, kind: 'object' | 'array'): string {
  return kind === 'object'
    ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

export const protoObject: fc.Arbitrary<string> = fc.constantFrom(
  '{"__proto__":{"isAdmin":true,"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"prototype":{"polluted":1}}',
  '[{"__proto__":null}]',
  '{"__proto__":[]}',
  '{"toString":1,"valueOf":"x","hasOwnProperty":null}',
);

/** A JSON value text that is odd in itself: huge, nested, prototype keys, extreme numbers. */
export const oddJsonValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: oddString.map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: protoObject },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 10, max: 40_000 }), fc.constantFrom<'object' | 'array'>('object', 'array'))
      .map(([d, k]) => nestedJson(d, k)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '1e308',
      '-0',
      '9007199254740993',
      '1.5',
      '-1',
      '0',
      '2147483648',
      '1e-400',
      'true',
      'false',
      'null',
      '[]',
      '{}',
      '""',
    ),
  },
);

// --- JSON API endpoints ------------------------------------------------------------------------

export type FieldKind = 'string' | 'int' | 'int-coerced' | 'bool' | 'uuid' | 'enum' | 'array' | 'url' | 'string-array';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
}

export interface Fixtures {
  [placeholder: string]: string;
}

export interface EndpointSpec {
  name: string;
  method: HttpMethod;
  /** With {placeholders} filled from the fixtures. */
  path: string;
  login?: string;
  /** A valid body. */
  body?: (fx: Fixtures) => Record<string, unknown>;
  /** The body fields the service checks (a DTO or a JSON schema: unknown fields are refused). */
  fields?: FieldSpec[];
  /** Query parameters of a read, with a valid value each. */
  query?: Record<string, string>;
  /** A read: it may succeed. */
  read?: boolean;
  /** Valid bodies the current state must refuse (e.g. an Android enterprise already bound to another ministry). */
  conflicts?: (fx: Fixtures) => Record<string, unknown>[];
}

/** Values that a field of this kind must refuse (null only where the field is required: optional fields take null as absent). */
function wrongValue(kind: FieldKind, required: boolean): fc.Arbitrary<string> {
  const nullable = required ? ['null'] : [];
  const notString = ['12', 'true', '[]', '{}', '["a"]', '{"a":"b"}', ...nullable];
  switch (kind) {
    case 'string':
      return fc.constantFrom(...notString);
    case 'url':
      return fc.constantFrom(...notString, '"not a url"', '"javascript:alert(1)"', '"http://"', '"//evil"');
    case 'uuid':
      return fc.oneof(
        fc.constantFrom(
          ...notString,
          '"not-a-uuid"',
          '"00000000-0000-0000-0000-00000000000g"',
          '""',
          '"12345678-1234-1234-1234-1234567890123"',
        ),
        oddString.filter((s) => s.length < 100).map((s) => JSON.stringify(`x${s}`)),
      );
    case 'int':
      return fc.constantFrom('"5"', '1.5', 'true', '[]', '{}', '[3]', '"abc"', '1e400', '-1e400', ...nullable);
    case 'int-coerced':
      // Converted with Number() before validation: only values that do not become a valid integer.
      return fc.constantFrom(
        '"abc"',
        '{}',
        '[1,2]',
        '1.5',
        '"1.5"',
        '-3',
        '1e9',
        '""',
        '"NaN"',
        '"Infinity"',
        'null',
        '"0x"',
        '{"valueOf":"x","toString":1}',
      );
    case 'bool':
      return fc.constantFrom('"true"', '1', '0', '[]', '{}', '"yes"', ...nullable);
    case 'enum':
      return fc.oneof(
        fc.constantFrom('12', 'true', '[]', '{}', '"NATIONAL-ADMIN"', '""', ...nullable),
        oddString.filter((s) => s.length < 100).map((s) => JSON.stringify(`${s}#`)),
      );
    case 'array':
      return fc.constantFrom(
        '"10,100"',
        '12',
        '{}',
        '["10","100"]',
        '[1.5,100]',
        '[0,100]',
        '[100,200]',
        '[[10],[100]]',
        ...nullable,
      );
    case 'string-array':
      return fc.constantFrom('"a.b"', '12', '{}', '[1,2]', '[null]', '[{}]', ...nullable);
  }
}

function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/**
 * Node's HTTP parser answers a request head over 16 KB itself (431, no body) before the app sees
 * it: path segments and query values stay well under that once percent-encoded.
 */
const fitsInUrl = (s: string) => Buffer.byteLength(s) < 1200;

/** Path segments that are not the id of anything. */
export const badSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: oddString.filter((s) => s.length > 0 && fitsInUrl(s)).map(percentEncode) },
  { weight: 2, arbitrary: fc.uuid().map((u) => u) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '%zz',
      '%',
      '%00',
      '%C0%AF',
      '%2e%2e',
      '..',
      '.',
      '%2F',
      'me',
      '0',
      '-1',
      '99999999999999999999',
      'null',
      '%E2%80%AE',
      '00000000-0000-0000-0000-000000000000',
    ),
  },
  { weight: 1, arbitrary: fc.uuid().map((u) => `${u}x`) },
);

type BodyDefect =
  | { kind: 'malformed'; text: string }
  | { kind: 'truncated'; at: number }
  | { kind: 'not-object'; text: string }
  | { kind: 'unknown-field'; key: string; value: string }
  | { kind: 'wrong-type'; field: number; seed: number }
  | { kind: 'missing'; field: number }
  | { kind: 'bad-path'; placeholder: number; segment: string }
  | { kind: 'lone-surrogate'; field: number; text: string }
  | { kind: 'conflict'; index: number };

/**
 * Free text with half of a surrogate pair ("\ud800" once encoded as JSON): not a character, and
 * refused by PostgreSQL's jsonb, where the audit log keeps what a write changed.
 */
export const loneSurrogateText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('Compte officiel du ministère ', '', 'x', '=', 'é'.repeat(30)),
    fc.constantFrom('\\ud800', '\\udfff', '\\udbff\\u0041', '\\ud83d', '\\ude00\\ud83d', '\\uDC00'),
    fc.constantFrom('', ' pour la communication de crise', '\\ud83d\\ude00 ok'),
  )
  .map(([before, lone, after]) => `"${before}${lone}${after}"`);

const malformedJson = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    fc.constantFrom(
      '{',
      '{"a":',
      '{"a":1,}',
      "{'a':1}",
      '{a:1}',
      '[1,2',
      'undefined',
      'NaN',
      '{"a":1}}',
      '\u0000',
      '{"a":"\\x00"}',
      '{"a":01}',
      '{"a":.5}',
      '{"a":+1}',
      '\ufeff{"a":1',
      '{"a":"\ud800"',
    ),
  )
  .filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  });

const unknownKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'isAdmin',
    'role',
    'id',
    'status',
    'approvedBy',
    'ministryCode',
    '',
    ' ',
    '\u0000',
    '$where',
    'rules.0',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
);

function bodyDefect(spec: EndpointSpec): fc.Arbitrary<BodyDefect> {
  const options: fc.Arbitrary<BodyDefect>[] = [];
  const fields = spec.fields ?? [];
  const placeholders = [...spec.path.matchAll(/\{(\w+)\}/g)].length;
  if (spec.body && fields.length > 0) {
    options.push(
      malformedJson.map((text) => ({ kind: 'malformed' as const, text })),
      fc.nat().map((at) => ({ kind: 'truncated' as const, at })),
      fc
        .constantFrom('[]', '[{}]', '"a string"', '12', 'true', 'null', `[${'1,'.repeat(100)}1]`)
        .map((text) => ({ kind: 'not-object' as const, text })),
      fc.tuple(unknownKey, oddJsonValue).map(([key, value]) => ({ kind: 'unknown-field' as const, key, value })),
      fc.tuple(fc.nat(), fc.nat()).map(([field, seed]) => ({ kind: 'wrong-type' as const, field, seed })),
      fc.tuple(fc.nat(), fc.nat()).map(([field, seed]) => ({ kind: 'wrong-type' as const, field, seed })),
    );
    if (fields.some((f) => f.required)) options.push(fc.nat().map((field) => ({ kind: 'missing' as const, field })));
    if (fields.some((f) => f.kind === 'string'))
      options.push(
        fc
          .tuple(fc.nat(), loneSurrogateText)
          .map(([field, text]) => ({ kind: 'lone-surrogate' as const, field, text })),
      );
  }
  if (spec.conflicts) options.push(fc.nat().map((index) => ({ kind: 'conflict' as const, index })));
  if (placeholders > 0)
    options.push(
      fc
        .tuple(fc.nat(), badSegment)
        .map(([placeholder, segment]) => ({ kind: 'bad-path' as const, placeholder, segment })),
    );
  return fc.oneof(...options);
}

/** Noise added to a valid body before the defect: odd values in existing fields (they may already be enough to refuse it). */
const noise = fc.array(fc.tuple(fc.nat(), oddJsonValue), { maxLength: 2 });

function fill(path: string, fx: Fixtures, replace?: { index: number; segment: string }): string {
  let i = 0;
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = replace && replace.index === i ? replace.segment : encodeURIComponent(fx[name] ?? name);
    i++;
    return value;
  });
}

/** A write with one defect (and some noise). */
export function writeCase(spec: EndpointSpec, fixtures: Fixtures): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(bodyDefect(spec), noise, fc.nat()).map(([defect, extras, seed]) => {
    const fields = spec.fields ?? [];
    const placeholders = [...spec.path.matchAll(/\{(\w+)\}/g)].length;
    const base = spec.body ? spec.body(fixtures) : undefined;
    // Noise first, on a copy, as raw JSON texts per field.
    const raw: Record<string, string> = {};
    if (base) for (const [k, v] of Object.entries(base)) raw[k] = JSON.stringify(v);
    if (defect.kind !== 'bad-path') {
      for (const [i, value] of extras) {
        if (fields.length === 0) break;
        raw[fields[i % fields.length].name] = value;
      }
    }
    const text = () =>
      `{${Object.entries(raw)
        .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
        .join(',')}}`;
    let body: string | undefined = base ? text() : undefined;
    let path = fill(spec.path, fixtures);
    let label: string = defect.kind;
    switch (defect.kind) {
      case 'malformed':
        body = defect.text;
        break;
      case 'truncated': {
        const full = text();
        body = full.slice(0, 1 + (defect.at % (full.length - 1)));
        break;
      }
      case 'not-object':
        body = defect.text;
        break;
      case 'unknown-field':
        body = `${text().slice(0, -1)}${Object.keys(raw).length > 0 ? ',' : ''}${JSON.stringify(defect.key)}:${defect.value}}`;
        label = `unknown field ${JSON.stringify(defect.key).slice(0, 40)}`;
        break;
      case 'wrong-type': {
        const field = fields[defect.field % fields.length];
        const values = fc.sample(wrongValue(field.kind, field.required), { numRuns: 1, seed: defect.seed });
        raw[field.name] = values[0];
        body = text();
        label = `wrong type for ${field.name}: ${values[0].slice(0, 40)}`;
        break;
      }
      case 'missing': {
        const required = fields.filter((f) => f.required);
        const field = required[defect.field % required.length];
        delete raw[field.name];
        body = text();
        label = `missing ${field.name}`;
        break;
      }
      case 'bad-path':
        path = fill(spec.path, fixtures, { index: defect.placeholder % placeholders, segment: defect.segment });
        label = `bad path segment ${defect.segment.slice(0, 40)}`;
        break;
      case 'lone-surrogate': {
        const strings = fields.filter((f) => f.kind === 'string');
        const field = strings[defect.field % strings.length];
        raw[field.name] = defect.text;
        body = text();
        label = `lone surrogate in ${field.name}: ${defect.text.slice(0, 40)}`;
        break;
      }
      case 'conflict': {
        const bodies = spec.conflicts?.(fixtures) ?? [];
        const conflicting = bodies[defect.index % bodies.length];
        body = JSON.stringify(conflicting);
        label = `refused by the current state: ${body.slice(0, 60)}`;
        break;
      }
    }
    return {
      target: spec.name,
      method: spec.method,
      path,
      login: spec.login,
      contentType:
        body === undefined ? undefined : seed % 17 === 0 ? 'application/json; charset=utf-8' : 'application/json',
      body,
      defect: label,
      mustRefuse: true,
    };
  });
}

const queryKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'limit[]', 'a[b]', 'toString', ''),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

/** A read with odd path segments and query values: it may succeed, but never with a 5xx. */
export function readCase(spec: EndpointSpec, fixtures: Fixtures): fc.Arbitrary<FuzzRequest> {
  const placeholders = [...spec.path.matchAll(/\{(\w+)\}/g)].length;
  const params = Object.keys(spec.query ?? {});
  return fc
    .record({
      segment:
        placeholders > 0 ? fc.option(fc.tuple(fc.nat(), badSegment), { nil: undefined }) : fc.constant(undefined),
      values: fc.array(
        fc.tuple(
          fc.nat(),
          fc.oneof(
            oddString.filter(fitsInUrl),
            fc.constantFrom(
              '-1',
              '0',
              '1.5',
              '1e3',
              'true',
              '',
              '99999999999999999999',
              '2147483648',
              '9223372036854775808',
            ),
          ),
        ),
        { maxLength: 3 },
      ),
      unknown: fc.option(fc.tuple(queryKey, oddString.filter(fitsInUrl)), { nil: undefined, freq: 4 }),
      repeat: fc.boolean(),
    })
    .map(({ segment, values, unknown, repeat }) => {
      const path = fill(
        spec.path,
        fixtures,
        segment ? { index: segment[0] % placeholders, segment: segment[1] } : undefined,
      );
      const query: [string, string][] = Object.entries(spec.query ?? {});
      for (const [i, v] of values) if (params.length > 0) query.push([params[i % params.length], v]);
      if (repeat && query.length > 0) query.push(query[0]);
      if (unknown) query.push(unknown);
      const qs = query.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
      return {
        target: spec.name,
        method: spec.method,
        path: qs ? `${path}?${qs}` : path,
        login: spec.login,
        defect: 'odd read',
        mustRefuse: false,
      };
    });
}

/** Cases spread evenly over the endpoints, reproducible from the seed. */
export function apiCases(endpoints: EndpointSpec[], fixtures: Fixtures, total: number, seed: number): FuzzRequest[] {
  const arb = fc.oneof(...endpoints.map((e) => (e.read ? readCase(e, fixtures) : writeCase(e, fixtures))));
  return fc.sample(arb, { numRuns: total, seed });
}

// --- Transport-level oddities ------------------------------------------------------------------

/**
 * Bodies cut short on the wire (Content-Length larger than what is sent, then the connection is
 * closed) and garbage instead of HTTP: nothing to answer, but the process must stay up.
 */
export async function truncatedOnTheWire(
  port: number,
  path: string,
  token: string,
  body: string,
  claimExtra: number,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      const bytes = Buffer.from(body, 'utf8');
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length + claimExtra}\r\n\r\n`,
      );
      socket.write(bytes);
      setTimeout(() => socket.destroy(), 20);
    });
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}
