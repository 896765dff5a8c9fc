import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Document, LineCounter, parseDocument, stringify } from 'yaml';
import { hostileInputProblem } from '../../common/input.pipe';
import { yamlShapeProblem } from '../../common/prescan';
import { CatalogApp, cleanContent, MinistryDefinition, NATIONAL_SCOPE, PolicyContent } from '../policy.types';
import { DesiredState, validateDesiredState } from './desired-state';
import { SchemaName, validateAgainst } from './schema-validator';

export interface PolicyFileProblem {
  file: string;
  line?: number;
  path: string;
  message: string;
}

export class PolicyFilesInvalid extends Error {
  constructor(readonly problems: PolicyFileProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: PolicyFileProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''} ${p.path}: ${p.message}`;
}

const MAX_FILE_BYTES = 2_000_000;

interface ParsedFile {
  file: string;
  value: unknown;
  doc?: Document;
  lines?: LineCounter;
}

function lineOf(parsed: ParsedFile, pointer: string): number | undefined {
  if (!parsed.doc || !parsed.lines) return undefined;
  const segments = pointer
    .split('/')
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = segments.length; n >= 0; n--) {
    const node = parsed.doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return parsed.lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses one YAML text; syntax errors come back as problems with their line. */
export function parseYaml(file: string, text: string): { parsed?: ParsedFile; problems: PolicyFileProblem[] } {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    return { problems: [{ file, path: '/', message: `file is larger than ${MAX_FILE_BYTES} bytes` }] };
  }
  // Nesting and size bounded before the parser runs: its cost (and memory) grows faster than the text.
  const shape = yamlShapeProblem(text);
  if (shape) return { problems: [{ file, path: '/', message: shape }] };
  const lines = new LineCounter();
  // maxAliasCount bounds alias expansion (the YAML "billion laughs").
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line, path: '/', message: `YAML syntax error: ${e.message.split('\n')[0].replace(/:\s*$/, '')}` })),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { problems: [{ file, path: '/', message: `YAML cannot be read: ${(e as Error).message}` }] };
  }
  // A "\0" escape in a YAML string decodes to NUL, which PostgreSQL cannot store; nesting is bounded as for JSON bodies.
  const hostile = hostileInputProblem(value, 'The document');
  if (hostile) return { problems: [{ file, path: '/', message: hostile }] };
  return { parsed: { file, value, doc, lines }, problems: [] };
}

function checked(parsed: ParsedFile, schema: SchemaName, problems: PolicyFileProblem[]): boolean {
  const found = validateAgainst(schema, parsed.value);
  for (const p of found) problems.push({ file: parsed.file, line: lineOf(parsed, p.path), path: p.path, message: p.message });
  return found.length === 0;
}

/**
 * Reads `policies/`: catalog/apps.yaml, national.yaml and ministries/<code>.yaml, and checks each
 * against its schema and all of them together. Throws PolicyFilesInvalid listing every problem.
 */
export function loadPolicyFiles(dir: string): DesiredState {
  const problems: PolicyFileProblem[] = [];
  const rel = (p: string) => relative(process.cwd(), p) || p;
  const read = (path: string): ParsedFile | undefined => {
    if (!existsSync(path)) {
      problems.push({ file: rel(path), path: '/', message: 'file is missing' });
      return undefined;
    }
    const result = parseYaml(rel(path), readFileSync(path, 'utf8'));
    problems.push(...result.problems);
    return result.parsed;
  };

  const catalogFile = read(join(dir, 'catalog', 'apps.yaml'));
  const nationalFile = read(join(dir, 'national.yaml'));
  const ministriesDir = join(dir, 'ministries');
  const ministryFiles = existsSync(ministriesDir)
    ? readdirSync(ministriesDir)
        .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
        .sort()
        .map((f) => read(join(ministriesDir, f)))
        .filter((f): f is ParsedFile => f !== undefined)
    : [];

  const state: DesiredState = { catalog: [], ministries: [], policies: {} };
  const fileOfScope = new Map<string, ParsedFile>();
  if (catalogFile && checked(catalogFile, 'catalog', problems)) {
    state.catalog = (catalogFile.value as { apps: CatalogApp[] }).apps;
    fileOfScope.set('catalog', catalogFile);
  }
  if (nationalFile && checked(nationalFile, 'national', problems)) {
    const { mode, description, minimumIos, rules } = nationalFile.value as PolicyContent & { scope: string };
    state.policies[NATIONAL_SCOPE] = {
      mode,
      ...(description ? { description } : {}),
      ...(minimumIos ? { minimumIos } : {}),
      rules,
    };
    fileOfScope.set(NATIONAL_SCOPE, nationalFile);
  }
  for (const file of ministryFiles) {
    if (!checked(file, 'ministry', problems)) continue;
    const m = file.value as MinistryDefinition & PolicyContent;
    const expected = basename(file.file).replace(/\.ya?ml$/, '');
    if (m.code !== expected) {
      problems.push({ file: file.file, line: lineOf(file, '/code'), path: '/code', message: `code "${m.code}" must match the file name "${expected}"` });
      continue;
    }
    const def: MinistryDefinition = { code: m.code, name: m.name, emailDomains: m.emailDomains };
    if (m.siret) def.siret = m.siret;
    state.ministries.push(def);
    state.policies[m.code] = cleanContent(m);
    fileOfScope.set(m.code, file);
  }

  if (problems.length === 0) {
    for (const p of validateDesiredState(state)) {
      const file = fileOfScope.get(p.scope);
      problems.push({ file: file?.file ?? p.scope, line: file ? lineOf(file, p.path) : undefined, path: p.path, message: p.message });
    }
  }
  if (problems.length > 0) throw new PolicyFilesInvalid(problems);
  return state;
}

/** Writes a desired state back as policy-as-code files (the `export` command). */
export function renderPolicyFiles(state: DesiredState): Map<string, string> {
  const files = new Map<string, string>();
  const header = '# Exported from the database by `npm run policies -- export`.\n';
  files.set(join('catalog', 'apps.yaml'), header + stringify({ apps: state.catalog }, { lineWidth: 0 }));
  const national = state.policies[NATIONAL_SCOPE];
  if (national) files.set('national.yaml', header + stringify({ scope: NATIONAL_SCOPE, ...national }, { lineWidth: 0 }));
  for (const m of state.ministries) {
    const policy = state.policies[m.code];
    if (!policy) continue;
    files.set(join('ministries', `${m.code}.yaml`), header + stringify({ ...m, ...policy }, { lineWidth: 0 }));
  }
  return files;
}
