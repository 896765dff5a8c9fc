import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { AppConfig } from '../config/app-config';
import { asRole, ensureServiceLogin, serviceLoginUrl } from './service-role';
import { RunningPostgres, startEmbeddedPostgres } from './embedded-postgres';

export interface ResolvedDatabase {
  /**
   * What the service connects with: restricted to the service role (cannot edit the audit log); on
   * the embedded PostgreSQL, a login that is neither superuser nor owner (SERVICE_LOGIN).
   */
  url: string;
  /** What the migrations run as: the owner of the tables. */
  migrationUrl: string;
  embedded?: RunningPostgres;
  /** Where the data is, for people: the embedded PostgreSQL's folder and port, or DATABASE_URL's host. */
  location: string;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The embedded PostgreSQL's superuser owns the tables; the service logs in as SERVICE_LOGIN, a
 * member of the service role only (not a superuser, not the owner: it cannot SET ROLE its way to
 * rewriting the audit log). Its password is generated once, kept next to the data (mode 600).
 */
async function embeddedServiceUrl(config: AppConfig, ownerUrl: string): Promise<string> {
  const file = resolve(dirname(resolve(config.EMBEDDED_PG_DIR)), 'service-login.password');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const password = readFileSync(file, 'utf8').trim();
  const admin = new URL(ownerUrl);
  admin.pathname = '/postgres';
  await ensureServiceLogin(admin.toString(), { password, role: config.DATABASE_ROLE });
  return serviceLoginUrl(ownerUrl, { password, role: config.DATABASE_ROLE });
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL under EMBEDDED_PG_DIR, started here,
 * or reused when another process of ours (the API while the CLI runs) already started it.
 * `detached`: see startEmbeddedPostgres (for a caller that stops it on SIGINT/SIGTERM itself).
 * Migrations run as DATABASE_MIGRATION_URL's login (default DATABASE_URL's); the service as DATABASE_ROLE.
 */
export async function resolveDatabase(
  config: AppConfig,
  options: { detached?: boolean } = {},
): Promise<ResolvedDatabase> {
  const role = config.DATABASE_ROLE;
  if (config.DATABASE_URL) {
    const { hostname, port, pathname } = new URL(config.DATABASE_URL);
    return {
      url: asRole(config.DATABASE_URL, role),
      migrationUrl: config.DATABASE_MIGRATION_URL ?? config.DATABASE_URL,
      location: `PostgreSQL at ${hostname}${port ? `:${port}` : ''}${pathname} (DATABASE_URL)`,
    };
  }
  if (await portOpen(config.EMBEDDED_PG_PORT)) {
    const url = `postgres://mdm:mdm-local@127.0.0.1:${config.EMBEDDED_PG_PORT}/mdm`;
    return {
      url: await embeddedServiceUrl(config, url),
      migrationUrl: url,
      location: `embedded PostgreSQL already running on port ${config.EMBEDDED_PG_PORT} (started by another command)`,
    };
  }
  const embedded = await startEmbeddedPostgres({
    dir: config.EMBEDDED_PG_DIR,
    port: config.EMBEDDED_PG_PORT,
    database: 'mdm',
    detached: options.detached,
  });
  const dir = relative(process.cwd(), embedded.dataDir);
  const shown = dir.startsWith('..') || isAbsolute(dir) ? embedded.dataDir : dir;
  const moved =
    embedded.dataDir === resolve(config.EMBEDDED_PG_DIR)
      ? ''
      : ` (the postgres user it runs as cannot reach ${resolve(config.EMBEDDED_PG_DIR)})`;
  const url = await embeddedServiceUrl(config, embedded.url).catch(async (error: unknown) => {
    await embedded.stop();
    throw error;
  });
  return {
    url,
    migrationUrl: embedded.url,
    embedded,
    location: `embedded PostgreSQL in ${shown}, port ${config.EMBEDDED_PG_PORT}${moved}`,
  };
}
