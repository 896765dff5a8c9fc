#!/usr/bin/env node
// The admin interface served by the API (admin-ui/dist), built only when it is missing or older than
// what it is made of, so that `npm start` does not wait for Vite each time.
//
//   node tools/admin-ui-build.mjs                 build if stale (npm start); a failure stops npm start
//   node tools/admin-ui-build.mjs --postinstall   the same after npm install; a failure is told, not fatal
//   node tools/admin-ui-build.mjs --force         build anyway
//
// Quiet: one line when it builds, Vite's errors when it fails; everything with LOG_LEVEL=debug.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UI = join(ROOT, 'admin-ui');
const INDEX = join(UI, 'dist', 'index.html');
/** Written after a successful build: the dependencies it was built with (package-lock.json's hash). */
const STAMP = join(UI, 'dist', '.built-with');

/** The newest modification under `path`, folders included (adding, removing or renaming a file changes its folder). */
export function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function dependencies() {
  const lock = join(ROOT, 'package-lock.json');
  // npm install rewrites the lock file each time: its content, not its date, tells a dependency change.
  return existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : 'none';
}

/** Why the interface must be built, or undefined when admin-ui/dist is up to date. */
export function adminUiStale() {
  if (!existsSync(INDEX)) return 'not built yet';
  const built = statSync(INDEX).mtimeMs;
  const sources = [join(UI, 'src'), join(UI, 'index.html'), join(UI, 'vite.config.ts'), join(UI, 'tsconfig.json')];
  if (sources.some((source) => existsSync(source) && newestMtime(source) > built)) return 'admin-ui/ changed';
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() !== dependencies()) return 'dependencies changed';
  return undefined;
}

/** Vite's production build of admin-ui/, quiet unless LOG_LEVEL=debug. */
export async function buildAdminUi() {
  const debug = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace';
  if (!debug) process.env.VITE_CONFIG_NATIVE_IGNORE_WARNING ??= 'true';
  const { build } = await import('vite');
  await build({ configFile: join(UI, 'vite.config.ts'), logLevel: debug ? 'info' : 'error' });
  writeFileSync(STAMP, `${dependencies()}\n`);
}

async function main() {
  const args = new Set(process.argv.slice(2));
  const reason = args.has('--force') ? 'asked' : adminUiStale();
  if (!reason) return;
  const started = Date.now();
  console.log(`Building the admin UI (${reason})…`);
  try {
    await buildAdminUi();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (args.has('--postinstall')) {
      console.error(`The admin UI could not be built (${message}); npm start will try again.`);
      return;
    }
    console.error(`The admin UI could not be built: ${message}`);
    process.exitCode = 1;
    return;
  }
  console.log(`Admin UI built in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
