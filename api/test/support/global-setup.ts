import { NestFactory } from '@nestjs/core';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { runMigrations } from '../../src/database/data-source';
import { asRole } from '../../src/database/service-role';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { seedDemoData } from '../../src/demo/demo-seeder';
import { loadPolicyFiles } from '../../src/policies/as-code/policy-files';
import { PoliciesCliModule } from '../../src/policies/cli/policies-cli.module';
import { PolicyPlanService } from '../../src/policies/policy-plan.service';
import { AppModule } from '../../src/app.module';
import { PolicyGroupService } from '../../src/rollout/policy-group.service';
import { startDevIdp } from './dev-idp';
import { SESSION_TEST_PORT, UI_TEST_PORT } from './ports';
import { adminQuery, TEMPLATE_DB, withDatabase } from './test-database';

export const REPO_ROOT = resolve(__dirname, '../../..');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * Once per test run: a real PostgreSQL (DATABASE_URL, or embedded in a temp folder), a template
 * database migrated and loaded with policies/ and the demo data, and the loopback OIDC provider.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  const handles: { stop: () => Promise<void> }[] = [];
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres({ dir: mkdtempSync(join(tmpdir(), 'mdm-test-pg-')), port: await freePort(), database: 'postgres', persistent: false });
    handles.push(pg);
    adminUrl = pg.url;
  }
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminQuery(adminUrl, `CREATE DATABASE ${TEMPLATE_DB}`);
  const templateUrl = withDatabase(adminUrl, TEMPLATE_DB);
  await runMigrations(templateUrl);
  // Like the service: the owner migrates, everything else runs as the restricted role.
  const serviceUrl = asRole(templateUrl);
  const app = await NestFactory.createApplicationContext(PoliciesCliModule.forRoot(serviceUrl), { logger: ['error'] });
  const plans = app.get(PolicyPlanService);
  await plans.apply({ id: null, label: 'test setup' }, await plans.planDesired(loadPolicyFiles(join(REPO_ROOT, 'policies'))));
  await seedDemoData(app.get(DataSource), app.get(AuditService));
  await app.close();
  // Groups need the rollout module: the full application context, without HTTP nor workers.
  const full = await NestFactory.createApplicationContext(
    AppModule.forRoot({ databaseUrl: serviceUrl, oidc: { issuer: 'http://127.0.0.1:9', audience: 'x' }, worker: false, mail: { mailFrom: 'x@localhost', publicUrl: 'http://localhost' }, rollout: {} }),
    { logger: ['error'] },
  );
  await full.get(DataSource).transaction((tx) => full.get(PolicyGroupService).assignUngrouped(tx));
  await full.close();

  // The browser sign-in test listens on SESSION_TEST_PORT: its callback must be a registered redirect URI.
  const idp = await startDevIdp({ redirectUris: ['http://127.0.0.1:3000/auth/callback', `http://127.0.0.1:${SESSION_TEST_PORT}/auth/callback`, `http://127.0.0.1:${UI_TEST_PORT}/auth/callback`] });
  handles.push(idp);
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_OIDC_ISSUER = idp.issuer;
  process.env.TEST_OIDC_AUDIENCE = idp.audience;
  process.env.TEST_OIDC_JWKS = idp.jwksOutPath;
  (globalThis as { __mdmTestHandles?: typeof handles }).__mdmTestHandles = handles;
}
