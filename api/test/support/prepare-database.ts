import { NestFactory } from '@nestjs/core';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { AuditService } from '../../src/audit/audit.service';
import { runMigrations } from '../../src/database/data-source';
import { asRole } from '../../src/database/service-role';
import { seedDemoData } from '../../src/demo/demo-seeder';
import { loadPolicyFiles } from '../../src/policies/as-code/policy-files';
import { PoliciesCliModule } from '../../src/policies/cli/policies-cli.module';
import { PolicyPlanService } from '../../src/policies/policy-plan.service';
import { PolicyGroupService } from '../../src/rollout/policy-group.service';

const REPO_ROOT = resolve(__dirname, '../../..');

/**
 * A database as `npm start` leaves it, for tests and benches: migrations as the owner, then, like the
 * service, as the restricted role: policies/ applied, demo data, and every device in its group.
 */
export async function prepareDatabase(url: string): Promise<void> {
  await runMigrations(url);
  const serviceUrl = asRole(url);
  const cli = await NestFactory.createApplicationContext(PoliciesCliModule.forRoot(serviceUrl), { logger: ['error'] });
  const plans = cli.get(PolicyPlanService);
  await plans.apply(
    { id: null, label: 'test setup' },
    await plans.planDesired(loadPolicyFiles(join(REPO_ROOT, 'policies'))),
  );
  await seedDemoData(cli.get(DataSource), cli.get(AuditService));
  await cli.close();
  // Groups need the rollout module: the full application context, without HTTP nor workers.
  const full = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      databaseUrl: serviceUrl,
      oidc: { issuer: 'http://127.0.0.1:9', audience: 'x' },
      worker: false,
      mail: { mailFrom: 'x@localhost', publicUrl: 'http://localhost' },
      rollout: {},
    }),
    { logger: ['error'] },
  );
  await full.get(DataSource).transaction((tx) => full.get(PolicyGroupService).assignUngrouped(tx));
  await full.close();
}
