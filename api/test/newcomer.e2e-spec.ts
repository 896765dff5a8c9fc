/**
 * `npm start` as a newcomer meets it: the real entry point (api/src/main.ts through swc, as the npm
 * script runs it) on an empty data folder with the embedded PostgreSQL, the development identity
 * provider and the defaults. It must print a short banner and nothing else, answer /health, let a
 * demo account sign in, stop cleanly on Ctrl+C and keep the data for the next start.
 *
 * The data folder is inside a folder only its owner may enter: as root (a container, CI), that is
 * the case the postgres user cannot reach, where the data moves under /var/tmp (see
 * api/src/database/embedded-postgres.ts).
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getToken } from './support/dev-idp';
import { freePort } from './support/ports';

const REPO_ROOT = resolve(__dirname, '..', '..');

interface Started {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  url: string;
  issuer: string;
  data: string;
}

let work: string;
let pgPort: number;
/** A real port, as a newcomer's: the demo provider registers the sign-in callback on it. */
let apiPort: number;
const relocated: string[] = [];

beforeAll(async () => {
  // A folder only its owner may enter, like /root or a home in mode 700.
  work = mkdtempSync(join(tmpdir(), 'newcomer-'));
  mkdirSync(join(work, 'project'), { mode: 0o700 });
  pgPort = await freePort();
  apiPort = await freePort();
});
afterAll(() => {
  for (const dir of [work, ...relocated]) if (dir) rmSync(dir, { recursive: true, force: true });
});

function npmStart(): Promise<Started> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(apiPort),
    DEV_IDP_PORT: '0',
    EMBEDDED_PG_DIR: join(work, 'project', '.data', 'pg'),
    EMBEDDED_PG_PORT: String(pgPort),
  };
  for (const name of [
    'DATABASE_URL',
    'DATABASE_MIGRATION_URL',
    'OIDC_ISSUER',
    'LOG_LEVEL',
    'POLICIES_DIR',
    'PUBLIC_URL',
  ])
    delete env[name];
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'api/src/main.ts'], { cwd: REPO_ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`no banner after 90 s:\n${stdout}\n${stderr}`));
    }, 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`npm start exited (${code}):\n${stdout}\n${stderr}`));
    });
    child.stdout.on('data', () => {
      if (!/^ {2}Stop {8}/m.test(stdout)) return;
      clearTimeout(timer);
      const field = (label: string) => new RegExp(`^ {2}${label} +(.+)$`, 'm').exec(stdout)?.[1] ?? '';
      ok({
        child,
        stdout: () => stdout,
        stderr: () => stderr,
        url: field('Health').replace(/\/health$/, ''),
        issuer: /demo account on (\S+)/.exec(stdout)?.[1] ?? '',
        data: /embedded PostgreSQL in (\S+),/.exec(stdout)?.[1] ?? '',
      });
    });
  });
}

function ctrlC(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((ok) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => ok(code));
    child.kill('SIGINT');
  });
}

describe('npm start, as a newcomer', () => {
  it('prints a short banner, serves, signs a demo account in, stops on Ctrl+C and keeps the data', async () => {
    const first = await npmStart();
    if (first.data.startsWith('/var/tmp/') || first.data.startsWith(tmpdir()))
      relocated.push(resolve(first.data, '..'));
    try {
      const lines = first.stdout().trimEnd().split('\n');
      expect(lines.length).toBeLessThanOrEqual(22);
      expect(lines.filter((line) => line.length > 100)).toEqual([]);
      expect(first.stdout()).not.toContain('{"level"'); // no JSON log line at start-up
      expect(first.stdout()).toContain('Policies    imported');
      expect(first.stderr()).toBe('');
      if (process.getuid?.() === 0) expect(first.data).toMatch(/^\/(var\/)?tmp\/mdm-apps-etat-[0-9a-f]{12}\/pg$/);
      else expect(first.data).toBe(join(work, 'project', '.data', 'pg'));

      const health = await fetch(`${first.url}/health`);
      expect(health.status).toBe(200);
      const docs = await fetch(`${first.url}/api/docs`);
      expect(docs.status).toBe(200);
      const token = await getToken(first.issuer, 'it.interieur', {
        redirectUri: `http://127.0.0.1:${apiPort}/auth/callback`,
      });
      const me = await fetch(`${first.url}/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
      expect(first.stderr()).toBe(''); // the identity provider says nothing either
    } finally {
      expect(await ctrlC(first.child)).toBe(0);
    }
    // The requests above log one JSON line each at the default level, written asynchronously: one
    // may land after "Stopping…". Nothing else may follow it.
    const afterRequests = first
      .stdout()
      .trimEnd()
      .split('\n')
      .filter((line) => !line.includes('"msg":"request completed"'));
    expect(afterRequests.at(-1)).toBe('Stopping…');
    expect(first.stderr()).toBe('');

    const second = await npmStart();
    try {
      expect(second.data).toBe(first.data);
      expect(second.stdout()).not.toContain('Policies'); // already imported: the data was kept
      expect((await fetch(`${second.url}/health`)).status).toBe(200);
    } finally {
      expect(await ctrlC(second.child)).toBe(0);
    }
    expect(second.stderr()).toBe('');
  }, 240_000);
});
