import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPolicyFiles, PolicyFilesInvalid, PolicyFileProblem, renderPolicyFiles } from './policy-files';

const repoPolicies = resolve(__dirname, '../../../../policies');

function copyOfPolicies(): string {
  const dir = mkdtempSync(join(tmpdir(), 'policies-'));
  cpSync(repoPolicies, dir, { recursive: true });
  return dir;
}

function problemsOf(dir: string): PolicyFileProblem[] {
  try {
    loadPolicyFiles(dir);
  } catch (e) {
    if (e instanceof PolicyFilesInvalid) return e.problems;
    throw e;
  }
  return [];
}

describe('policy files', () => {
  it('loads the repository policies: a real catalog, the baseline and at least four ministries', () => {
    const state = loadPolicyFiles(repoPolicies);
    expect(state.catalog.length).toBeGreaterThanOrEqual(30);
    const tiktok = state.catalog.find((a) => a.slug === 'tiktok');
    expect(tiktok?.android).toContain('com.zhiliaoapp.musically');
    expect(state.catalog.find((a) => a.slug === 'netflix')?.ios).toContain('com.netflix.Netflix');
    expect(state.ministries.length).toBeGreaterThanOrEqual(4);
    expect(Object.values(state.policies).some((p) => p.mode === 'allowlist')).toBe(true);
    const national = state.policies.national;
    expect(national.rules.find((r) => r.app === 'tchap')?.action).toBe('require');
    expect(national.rules.every((r) => (r.legalBasis ?? '').length > 0)).toBe(true);
  });

  it('names the file, line and path of a YAML syntax error', () => {
    const dir = copyOfPolicies();
    writeFileSync(join(dir, 'national.yaml'), 'scope: national\nmode: blocklist\nrules:\n  - app: tiktok\n   action: [block\n');
    const [problem] = problemsOf(dir);
    expect(problem.file).toMatch(/national\.yaml$/);
    expect(problem.message).toMatch(/YAML syntax error/);
    expect(problem.line).toBeGreaterThan(1);
  });

  it('names the file, line and JSON path of a schema violation', () => {
    const dir = copyOfPolicies();
    const file = join(dir, 'ministries', 'culture.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^rules:.*$/m, 'rules:\n  - app: tiktok\n    action: forbid\n    exemptable: false'));
    const problems = problemsOf(dir);
    expect(problems).toContainEqual(expect.objectContaining({ file: expect.stringMatching(/culture\.yaml$/), path: '/rules/0/action', message: 'must be one of block, allow, require' }));
    expect(problems[0].line).toBeGreaterThan(1);
  });

  it('states the personal side of an allow-list ministry, and refuses it in a blocklist', () => {
    expect(loadPolicyFiles(repoPolicies).policies.armees).toMatchObject({ mode: 'allowlist', personalSide: 'allowlist' });
    const dir = copyOfPolicies();
    const file = join(dir, 'ministries', 'culture.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^mode: blocklist$/m, 'mode: blocklist\npersonalSide: disallowed'));
    expect(problemsOf(dir)).toContainEqual(expect.objectContaining({ file: expect.stringMatching(/culture\.yaml$/), path: '/personalSide' }));
  });

  it('rejects an unknown app and a ministry rule that allows what the baseline blocks', () => {
    const dir = copyOfPolicies();
    const file = join(dir, 'ministries', 'culture.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/^rules:.*$/m, 'rules:\n  - app: tiktokk\n    action: block\n    exemptable: false\n  - app: tiktok\n    action: allow\n    exemptable: false'),
    );
    const messages = problemsOf(dir).map((p) => p.message);
    expect(messages).toContainEqual(expect.stringContaining('unknown app "tiktokk"'));
    expect(messages).toContainEqual(expect.stringMatching(/ministry "culture" rule #2 \(allow "tiktok".*national rule #\d+ \(block "tiktok"/));
  });

  it('round-trips through export: what is written back loads to the same state', () => {
    const state = loadPolicyFiles(repoPolicies);
    const dir = mkdtempSync(join(tmpdir(), 'export-'));
    for (const [path, text] of renderPolicyFiles(state)) {
      cpSync(repoPolicies, dir, { recursive: true, force: false, errorOnExist: false });
      writeFileSync(join(dir, path), text);
    }
    expect(loadPolicyFiles(dir)).toEqual(state);
  });
});
