import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { ensureServiceLogin } from '../../src/database/service-role';
import { startDevIdp } from './dev-idp';
import { prepareDatabase } from './prepare-database';
import { SESSION_TEST_PORT, UI_TEST_PORT, freePort } from './ports';
import { adminQuery, TEMPLATE_DB, withDatabase } from './test-database';

/**
 * Once per test run: a real PostgreSQL (DATABASE_URL, or embedded in a temp folder), a template
 * database migrated and loaded with policies/ and the demo data, and the loopback OIDC provider.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  const handles: { stop: () => Promise<void> }[] = [];
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres({
      dir: mkdtempSync(join(tmpdir(), 'mdm-test-pg-')),
      port: await freePort(),
      database: 'postgres',
      persistent: false,
    });
    handles.push(pg);
    adminUrl = pg.url;
  }
  // The audit log's key and checkpoints, outside the database as in production: one key for the
  // whole run (the template's events are chained with it), read by every process the tests start.
  const audit = mkdtempSync(join(tmpdir(), 'mdm-test-audit-'));
  writeFileSync(join(audit, 'audit.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  process.env.AUDIT_KEY_FILE = join(audit, 'audit.key');
  process.env.AUDIT_CHECKPOINT_DIR = join(audit, 'checkpoints');
  handles.push({ stop: async () => rmSync(audit, { recursive: true, force: true }) });
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminQuery(adminUrl, `CREATE DATABASE ${TEMPLATE_DB}`);
  const templateUrl = withDatabase(adminUrl, TEMPLATE_DB);
  await prepareDatabase(templateUrl);
  // The service's sessions log in as a member of the service role only, as on the embedded PostgreSQL of npm start.
  const password = randomBytes(18).toString('base64url');
  await ensureServiceLogin(withDatabase(adminUrl, 'postgres'), { password });
  process.env.TEST_SERVICE_LOGIN_PASSWORD = password;

  // The browser sign-in test listens on SESSION_TEST_PORT: its callback must be a registered redirect URI.
  const idp = await startDevIdp({
    redirectUris: [
      'http://127.0.0.1:3000/auth/callback',
      `http://127.0.0.1:${SESSION_TEST_PORT}/auth/callback`,
      `http://127.0.0.1:${UI_TEST_PORT}/auth/callback`,
    ],
  });
  handles.push(idp);
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_OIDC_ISSUER = idp.issuer;
  process.env.TEST_OIDC_AUDIENCE = idp.audience;
  process.env.TEST_OIDC_JWKS = idp.jwksOutPath;
  (globalThis as { __mdmTestHandles?: typeof handles }).__mdmTestHandles = handles;
}
