/**
 * Hostile policy YAML, through the loader the CLI uses (parseYaml + the schemas, and loadPolicyFiles
 * on a folder) and through the API (POST /policies/:scope/plan with a YAML body): malformed,
 * truncated, alias bombs, unknown tags, wrong types, deep nesting, huge documents. The loader
 * reports problems and never throws anything else; the API refuses with a 4xx JSON message and
 * saves no plan. FUZZ_YAML_CASES (default 1,000 per target); FUZZ_SEED replays another run.
 */
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPolicyFiles, parseYaml, PolicyFilesInvalid } from '../src/policies/as-code/policy-files';
import { validateAgainst } from '../src/policies/as-code/schema-validator';
import { databaseFingerprint, formatStats, healthy, runCases } from './support/fuzz';
import { FuzzHost, prepareApiFixtures, tokensFor, yamlFileMutation, yamlPlanCases } from './support/fuzz-targets';
import { startTestApp, TestApp } from './support/test-app';

const CASES = Number(process.env.FUZZ_YAML_CASES ?? 1000);
const LOADER_FOLDERS = Math.max(1, Math.round(CASES / 15));
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const POLICIES = resolve(__dirname, '../../policies');
const MINISTRY_FILE = readFileSync(join(POLICIES, 'ministries', 'interieur.yaml'), 'utf8');

describe('Fuzz: the policy YAML loader', () => {
  it(`reports problems for ${CASES} damaged ministry files (never throws), and refuses every defective one`, () => {
    const mutations = fc.sample(yamlFileMutation, { numRuns: CASES, seed: SEED });
    const wrong: string[] = [];
    let refused = 0;
    for (const m of mutations) {
      const text = m.apply(MINISTRY_FILE);
      let problems: { message: string }[];
      try {
        const { parsed, problems: syntax } = parseYaml('interieur.yaml', text);
        problems = parsed ? validateAgainst('ministry', parsed.value) : syntax;
      } catch (e) {
        wrong.push(`${m.label}: threw ${(e as Error).constructor.name}: ${(e as Error).message.slice(0, 200)}`);
        continue;
      }
      if (problems.some((p) => typeof p.message !== 'string' || p.message.length < 3))
        wrong.push(`${m.label}: a problem without a message`);
      if (m.mustRefuse && problems.length === 0) wrong.push(`${m.label}: accepted`);
      if (problems.length > 0) refused++;
    }
    console.log(`YAML loader (parseYaml + schema): ${mutations.length} cases, ${refused} refused with problems`);
    expect(wrong).toEqual([]);
  });

  it(`loadPolicyFiles on ${LOADER_FOLDERS} folders with a damaged ministry file throws PolicyFilesInvalid, nothing else`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'fuzz-policies-'));
    cpSync(POLICIES, dir, { recursive: true });
    const wrong: string[] = [];
    try {
      for (const m of fc.sample(yamlFileMutation, { numRuns: LOADER_FOLDERS, seed: SEED + 1 })) {
        writeFileSync(join(dir, 'ministries', 'interieur.yaml'), m.apply(MINISTRY_FILE));
        try {
          loadPolicyFiles(dir);
          if (m.mustRefuse) wrong.push(`${m.label}: loaded`);
        } catch (e) {
          if (!(e instanceof PolicyFilesInvalid))
            wrong.push(`${m.label}: threw ${(e as Error).constructor.name}: ${(e as Error).message.slice(0, 200)}`);
          else if (e.problems.length === 0 || e.problems.some((p) => !p.message))
            wrong.push(`${m.label}: PolicyFilesInvalid without readable problems`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`YAML loader (loadPolicyFiles): ${LOADER_FOLDERS} folders`);
    expect(wrong).toEqual([]);
  });
});

describe('Fuzz: policy YAML through the API', () => {
  let t: TestApp;
  let host: FuzzHost;

  beforeAll(async () => {
    t = await startTestApp({});
    host = { server: t.app.getHttpServer() as Server, db: t.db, token: t.token };
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it(`refuses ${CASES} defective YAML plans with a 4xx JSON message, never a 5xx, and saves no plan`, async () => {
    const tokens = await tokensFor(host);
    const fixtures = await prepareApiFixtures(host, tokens);
    const before = await databaseFingerprint(t.db);
    const stats = await runCases(host.server, tokens, yamlPlanCases(fixtures, CASES, SEED), 4);
    console.log(formatStats('YAML plans (API)', stats));
    expect(stats.failures).toEqual([]);
    expect(await healthy(host.server)).toBe(true);
    expect(await databaseFingerprint(t.db)).toEqual(before);
    expect(stats.cases).toBe(CASES);
  }, 300_000);
});
