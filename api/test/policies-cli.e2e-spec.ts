/**
 * The policy-as-code CLI (api/src/policies/cli/policies-cli.ts), run as a real process against a
 * fresh clone of the test database, on temporary copies of policies/ that the tests edit.
 *
 * Exit codes: 0 = valid / no change / done, 1 = error, 2 = the plan has changes.
 * The tests of `describe('plan, apply')` run in order on the same database: each step starts
 * from the state the previous one left (as an operator would run them).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { startTestApp, TestApp } from './support/test-app';

const REPO_ROOT = resolve(__dirname, '..', '..');
const CLI = 'api/src/policies/cli/policies-cli.ts';
const POLICIES = join(REPO_ROOT, 'policies');

let t: TestApp;
let work: string;

beforeAll(async () => {
  t = await startTestApp();
  work = mkdtempSync(join(tmpdir(), 'policies-cli-'));
});
afterAll(async () => {
  await t?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run policies -- <args>`, without the build: the TypeScript source through swc. */
function cli(...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: t.databaseUrl };
  delete env.POLICIES_DIR;
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', CLI, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

/** Describes a run for a failed expectation on its exit code. */
function outcome(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

function expectExit(run: Run, code: number): void {
  if (run.code !== code) throw new Error(`expected exit ${code}, got ${outcome(run)}`);
}

/** A fresh copy of the repository's policies/ folder (or of another copy). */
function copyPolicies(name: string, from = POLICIES): string {
  const dir = join(work, name);
  cpSync(from, dir, { recursive: true });
  return dir;
}

/** Rewrites one file of a copy; fails if the edit did not apply (the repository's files changed). */
function edit(dir: string, file: string, change: (text: string) => string): string {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before)
    throw new Error(`the edit of ${file} changed nothing: update the test to the current policies/`);
  writeFileSync(path, after);
  return after;
}

/** 1-based line of the first line of `text` that starts with `prefix`. */
function lineOf(text: string, prefix: string): number {
  const index = text.split('\n').findIndex((l) => l.startsWith(prefix));
  if (index < 0) throw new Error(`no line starting with "${prefix}"`);
  return index + 1;
}

/** culture.yaml has `rules: []`: replace it with the given rules (YAML lines under `rules:`). */
function setCultureRules(dir: string, rules: string): { text: string; rulesLine: number } {
  const text = edit(dir, 'ministries/culture.yaml', (s) => s.replace(/^rules: \[\]$/m, `rules:\n${rules}`));
  return { text, rulesLine: lineOf(text, 'rules:') };
}

const DROPBOX_BLOCK = '  - app: dropbox\n    action: block\n    exemptable: false\n';

/** national.yaml: instagram exemptable up to 365 days → `days`. */
function setInstagramMaxDays(dir: string, days: number): void {
  edit(dir, 'national.yaml', (s) =>
    s.replace(/(- app: instagram\n\s+action: block\n\s+exemptable: true\n\s+maxExemptionDays: )365\b/, `$1${days}`),
  );
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = (await t.db.query(sql, params)) as { count: string | number }[];
  return Number(row.count);
}

async function currentVersion(scope: string): Promise<number> {
  const [row] = (await t.db.query('SELECT current_version FROM policy WHERE scope = $1', [scope])) as {
    current_version: number;
  }[];
  return row.current_version;
}

/** The lines of one `scope <name> (...)` section of a rendered plan, up to the next blank line. */
function section(stdout: string, scope: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`scope ${scope} (`));
  if (start < 0) throw new Error(`no section for scope ${scope} in:\n${stdout}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start, end < 0 ? undefined : end);
}

describe('policies validate', () => {
  it('accepts the repository policies (exit 0) and says what it checked', async () => {
    const run = await cli('validate');
    expectExit(run, 0);
    const catalog = parse(readFileSync(join(POLICIES, 'catalog/apps.yaml'), 'utf8')) as { apps: unknown[] };
    const ministries = readdirSync(join(POLICIES, 'ministries')).filter((f) => f.endsWith('.yaml'));
    expect(run.stdout.trim()).toBe(
      `Valid: ${catalog.apps.length} apps, national baseline, ${ministries.length} ministries.`,
    );
  });

  it('reports a YAML syntax error with the file and the line (exit 1)', async () => {
    const dir = copyPolicies('syntax-error');
    const { text } = setCultureRules(dir, '  - app: dropbox\n    action: block: oops\n    exemptable: false\n');
    const line = lineOf(text, '    action: block: oops');
    const run = await cli('--dir', dir, 'validate');
    expectExit(run, 1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Invalid policies (1 problem(s))');
    expect(run.stderr).toMatch(
      new RegExp(`ministries/culture\\.yaml:${line} /: YAML syntax error: Nested mappings are not allowed`),
    );
  });

  it('reports a ministry rule on an app missing from the catalog, with file, line and JSON path (exit 1)', async () => {
    const dir = copyPolicies('unknown-app');
    const { rulesLine } = setCultureRules(
      dir,
      '  - app: dropbox\n    action: block\n    exemptable: false\n  - app: dropboks\n    action: block\n    exemptable: false\n',
    );
    const run = await cli('validate', '--dir', dir);
    expectExit(run, 1);
    expect(run.stderr).toContain('Invalid policies (1 problem(s))');
    // second rule, fourth line under `rules:`
    expect(run.stderr).toContain(
      `ministries/culture.yaml:${rulesLine + 4} /rules/1/app: unknown app "dropboks": it is not in the catalog`,
    );
    expect(run.stderr).not.toContain('"dropbox"');
  });

  it('refuses a ministry rule that allows a nationally blocked app, naming both rules (exit 1)', async () => {
    const dir = copyPolicies('conflict');
    const { rulesLine } = setCultureRules(
      dir,
      `${DROPBOX_BLOCK}  - app: tiktok\n    action: allow\n    exemptable: false\n`,
    );
    const national = parse(readFileSync(join(dir, 'national.yaml'), 'utf8')) as { rules: { app: string }[] };
    const nationalIndex = national.rules.findIndex((r) => r.app === 'tiktok');
    expect(nationalIndex).toBeGreaterThanOrEqual(0);
    const run = await cli('--dir', dir, 'validate');
    expectExit(run, 1);
    expect(run.stderr).toContain('Invalid policies (1 problem(s))');
    expect(run.stderr).toContain(
      `ministries/culture.yaml:${rulesLine + 4} /rules/1: ministry "culture" rule #2 (allow "tiktok" (not exemptable)) conflicts with ` +
        `national rule #${nationalIndex + 1} (block "tiktok" (exemptable up to 365 days)): a ministry may not allow or require what the national baseline blocks`,
    );
  });
});

describe('policies plan, apply', () => {
  let changed: string;
  let planFile: string;
  const before = { culture: 0, national: 0, cultureVersions: 0, audit: 0 };

  it('plans nothing when the files match the database (exit 0, "No changes")', async () => {
    const out = join(work, 'unchanged.plan.json');
    const run = await cli('--dir', copyPolicies('unchanged'), 'plan', '-o', out);
    expectExit(run, 0);
    expect(run.stdout.trim()).toBe('No changes. The database matches the policies.');
    expect(existsSync(out)).toBe(false);
  });

  it('shows per scope and platform what a block and a shorter exemption change, saves the plan (exit 2)', async () => {
    changed = copyPolicies('changed');
    setCultureRules(changed, DROPBOX_BLOCK);
    setInstagramMaxDays(changed, 180);
    planFile = join(work, 'plans', 'changed.plan.json');
    before.culture = await currentVersion('culture');
    before.national = await currentVersion('national');
    before.cultureVersions = await count(`SELECT count(*) FROM policy_version WHERE scope = 'culture'`);
    before.audit = await count('SELECT count(*) FROM audit_event');
    const cultureDevices = await count(`SELECT count(*) FROM device WHERE ministry_code = 'culture'`);
    const allDevices = await count('SELECT count(*) FROM device');
    expect(cultureDevices).toBeGreaterThan(0);

    const run = await cli('--dir', changed, 'plan', '-o', planFile);
    expectExit(run, 2);

    const national = section(run.stdout, 'national');
    // A shorter exemption ceiling changes no phone: what is enforced (the policy hash) is the same.
    expect(national).toEqual([
      `scope national (version ${before.national} → ${before.national + 1}), 0 device(s) affected`,
      '  android:',
      '    ~ instagram [com.instagram.android, com.instagram.lite] blocked, exemptable ≤ 365 d → blocked, exemptable ≤ 180 d',
      '  ios:',
      '    ~ instagram [com.burbn.instagram] blocked, exemptable ≤ 365 d → blocked, exemptable ≤ 180 d',
    ]);
    expect(section(run.stdout, 'culture')).toEqual([
      `scope culture (version ${before.culture} → ${before.culture + 1}), ${cultureDevices} device(s) affected`,
      '  android:',
      '    + dropbox [com.dropbox.android] blocked, not exemptable',
      '  ios:',
      '    + dropbox [com.getdropbox.Dropbox] blocked, not exemptable',
    ]);
    expect(run.stdout).not.toMatch(/^scope (armees|economie|interieur|spm) /m);
    expect(run.stdout.split('\n')).toContain(
      `Plan: 2 to block or require, 0 to lift, 2 to change in 2 scope(s); ${cultureDevices} of ${allDevices} device(s) affected.`,
    );
    expect(run.stdout).toContain(`Saved the plan to ${planFile}`);

    const saved = JSON.parse(readFileSync(planFile, 'utf8'));
    expect(saved).toMatchObject({
      formatVersion: 1,
      scopes: ['armees', 'culture', 'economie', 'interieur', 'national', 'spm'],
    });
    expect(saved.policies.map((p: { scope: string }) => p.scope)).toEqual(['national', 'culture']);
    expect(saved.summary).toMatchObject({
      hasChanges: true,
      devicesAffected: cultureDevices,
      devicesTotal: allDevices,
    });
    // planning wrote nothing
    expect(await currentVersion('culture')).toBe(before.culture);
    expect(await count('SELECT count(*) FROM audit_event')).toBe(before.audit);
  });

  it('applies exactly that plan: new current versions, the rule stored, audited (exit 0)', async () => {
    const run = await cli('apply', planFile);
    expectExit(run, 0);
    expect(run.stdout).toContain(`Applied national: now version ${before.national + 1}`);
    expect(run.stdout).toContain(`Applied culture: now version ${before.culture + 1}`);
    expect(run.stdout).toContain('Catalog: 0 added, 0 changed, 0 removed.');

    expect(await currentVersion('culture')).toBe(before.culture + 1);
    expect(await currentVersion('national')).toBe(before.national + 1);
    expect(await count(`SELECT count(*) FROM policy_version WHERE scope = 'culture'`)).toBe(before.cultureVersions + 1);
    const [version] = (await t.db.query(
      `SELECT content, created_by FROM policy_version WHERE scope = 'culture' AND version = $1`,
      [before.culture + 1],
    )) as {
      content: { mode: string; rules: unknown[] };
      created_by: string;
    }[];
    expect(version.content.mode).toBe('blocklist');
    expect(version.content.rules).toEqual([{ app: 'dropbox', action: 'block', exemptable: false }]);
    expect(version.created_by).toMatch(/^policy-as-code: npm run policies apply \(.+\)$/);
    const [nationalVersion] = (await t.db.query(
      `SELECT r AS rule FROM policy_version v, jsonb_array_elements(v.content->'rules') r WHERE v.scope = 'national' AND v.version = $1 AND r->>'app' = 'instagram'`,
      [before.national + 1],
    )) as { rule: { maxExemptionDays: number } }[];
    expect(nationalVersion.rule.maxExemptionDays).toBe(180);

    const events = (await t.db.query(
      `SELECT action, entity_type, entity_id, ministry_code, actor, after FROM audit_event WHERE seq > $1 AND entity_type = 'policy' ORDER BY seq`,
      [before.audit],
    )) as {
      action: string;
      entity_id: string;
      ministry_code: string | null;
      actor: string;
      after: { version: number; content: { rules: unknown[] } };
    }[];
    expect(events.map((e) => [e.action, e.entity_id, e.ministry_code])).toEqual([
      ['policy.version-created', 'national', null],
      ['policy.version-created', 'culture', 'culture'],
    ]);
    expect(events[1].after.version).toBe(before.culture + 1);
    expect(events[1].after.content.rules).toEqual([{ app: 'dropbox', action: 'block', exemptable: false }]);
    expect(events[1].actor).toBe(version.created_by);
  });

  it('then plans nothing for the same files (exit 0, "No changes")', async () => {
    const run = await cli('--dir', changed, 'plan', '-o', join(work, 'plans', 'after-apply.plan.json'));
    expectExit(run, 0);
    expect(run.stdout.trim()).toBe('No changes. The database matches the policies.');
  });

  it('refuses a stale plan: another plan was applied to the same scope since (exit 1), and writes nothing', async () => {
    // Both start from the files now applied, and add one more block to culture.
    const dirA = copyPolicies('stale-a', changed);
    edit(dirA, 'ministries/culture.yaml', (s) =>
      s.replace(DROPBOX_BLOCK, `${DROPBOX_BLOCK}  - app: wetransfer\n    action: block\n    exemptable: false\n`),
    );
    const dirB = copyPolicies('stale-b', changed);
    edit(dirB, 'ministries/culture.yaml', (s) =>
      s.replace(DROPBOX_BLOCK, `${DROPBOX_BLOCK}  - app: google-drive\n    action: block\n    exemptable: false\n`),
    );
    const planA = join(work, 'plans', 'stale-a.plan.json');
    const planB = join(work, 'plans', 'stale-b.plan.json');

    expectExit(await cli('--dir', dirA, 'plan', '-o', planA), 2);
    expectExit(await cli('--dir', dirB, 'plan', '-o', planB), 2);
    const applyB = await cli('apply', planB);
    expectExit(applyB, 0);
    const version = await currentVersion('culture');
    expect(applyB.stdout).toContain(`Applied culture: now version ${version}`);
    const versions = await count('SELECT count(*) FROM policy_version');
    const audit = await count('SELECT count(*) FROM audit_event');

    const applyA = await cli('apply', planA);
    expectExit(applyA, 1);
    expect(applyA.stderr).toContain('The plan is stale');
    expect(applyA.stderr).toContain('Make a new plan');
    expect(applyA.stdout).not.toContain('Applied');
    expect(await currentVersion('culture')).toBe(version);
    expect(await count('SELECT count(*) FROM policy_version')).toBe(versions);
    expect(await count('SELECT count(*) FROM audit_event')).toBe(audit);
    const [current] = (await t.db.query(
      `SELECT v.content FROM policy_version v JOIN policy p ON p.scope = v.scope AND p.current_version = v.version WHERE v.scope = 'culture'`,
    )) as { content: { rules: { app: string }[] } }[];
    expect(current.content.rules.map((r) => r.app)).toEqual(['dropbox', 'google-drive']);
  });

  it('refuses a plan file edited after review to break the baseline (exit 1), and writes nothing', async () => {
    const dir = copyPolicies('edited', changed);
    edit(dir, 'ministries/culture.yaml', (s) =>
      s.replace(DROPBOX_BLOCK, `${DROPBOX_BLOCK}  - app: wetransfer\n    action: block\n    exemptable: false\n`),
    );
    const file = join(work, 'plans', 'edited.plan.json');
    // The reviewed plan is made from the files as they are now in the database plus one block.
    const current = (await t.db.query(
      `SELECT v.content FROM policy_version v JOIN policy p ON p.scope = v.scope AND p.current_version = v.version WHERE v.scope = 'culture'`,
    )) as { content: { rules: { app: string }[] } }[];
    edit(dir, 'ministries/culture.yaml', (s) =>
      s.replace(
        /^rules:[\s\S]*$/m,
        `rules:\n${current[0].content.rules.map((r) => `  - app: ${r.app}\n    action: block\n    exemptable: false\n`).join('')}  - app: wetransfer\n    action: block\n    exemptable: false\n`,
      ),
    );
    expectExit(await cli('--dir', dir, 'plan', '-o', file), 2);
    const plan = JSON.parse(readFileSync(file, 'utf8')) as {
      policies: { scope: string; content: { rules: object[] } }[];
    };
    plan.policies[0].content.rules.push({ app: 'tiktok', action: 'allow', exemptable: false });
    writeFileSync(file, JSON.stringify(plan));
    const versions = await count('SELECT count(*) FROM policy_version');
    const run = await cli('apply', file);
    expectExit(run, 1);
    expect(run.stderr).toContain('The plan does not hold valid policies (was it edited?)');
    expect(run.stderr).toMatch(/rule #\d+ \(allow "tiktok".*conflicts with national rule/);
    expect(await count('SELECT count(*) FROM policy_version')).toBe(versions);

    writeFileSync(file, 'null');
    const nothing = await cli('apply', file);
    expectExit(nothing, 1);
    expect(nothing.stderr.trim()).toBe(`${file} is not a plan made by \`npm run policies -- plan\`.`);
  });

  it('refuses to apply a file that is not a plan, with a readable message (exit 1)', async () => {
    const garbage = join(work, 'garbage.plan.json');
    writeFileSync(garbage, '{"hello": "world"}');
    const notPlan = await cli('apply', garbage);
    expectExit(notPlan, 1);
    expect(notPlan.stderr.trim()).toBe(`${garbage} is not a plan made by \`npm run policies -- plan\`.`);

    writeFileSync(garbage, 'this is { not json');
    const notJson = await cli('apply', garbage);
    expectExit(notJson, 1);
    expect(notJson.stderr).toContain(`Cannot read the plan ${garbage}:`);
    expect(notJson.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
  });
});

describe('policies export', () => {
  it('writes the database back as files that validate and plan to no change (exit 0)', async () => {
    const out = join(work, 'exported');
    const run = await cli('export', '-o', out);
    expectExit(run, 0);
    const ministries = ((await t.db.query('SELECT code FROM ministry ORDER BY code')) as { code: string }[]).map(
      (m) => m.code,
    );
    expect(ministries.length).toBeGreaterThan(0);
    const expected = ['catalog/apps.yaml', 'national.yaml', ...ministries.map((m) => `ministries/${m}.yaml`)];
    for (const file of expected) {
      expect(existsSync(join(out, file))).toBe(true);
      expect(run.stdout).toContain(`wrote ${join(out, file)}`);
    }
    expect(readdirSync(join(out, 'ministries')).sort()).toEqual(ministries.map((m) => `${m}.yaml`));
    const apps = parse(readFileSync(join(out, 'catalog/apps.yaml'), 'utf8')) as { apps: unknown[] };
    expect(apps.apps).toHaveLength(await count('SELECT count(*) FROM app'));
    const culture = parse(readFileSync(join(out, 'ministries/culture.yaml'), 'utf8')) as {
      code: string;
      emailDomains: string[];
      rules: { app: string }[];
    };
    expect(culture.code).toBe('culture');
    expect(culture.emailDomains).toEqual(['culture.gouv.fr']);
    expect(culture.rules.map((r) => r.app)).toEqual(['dropbox', 'google-drive']); // what the previous tests applied

    const validate = await cli('validate', '--dir', out);
    expectExit(validate, 0);
    expect(validate.stdout).toContain(
      `Valid: ${apps.apps.length} apps, national baseline, ${ministries.length} ministries.`,
    );
    const plan = await cli('--dir', out, 'plan', '-o', join(work, 'plans', 'exported.plan.json'));
    expectExit(plan, 0);
    expect(plan.stdout.trim()).toBe('No changes. The database matches the policies.');
  });
});
