import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { AndroidEnrollmentToken, AndroidEnterprise } from '../android/android-enterprise.entity';
import { AuditChainSubscriber } from '../audit/audit-chain';
import { AuditEvent, AuditHead } from '../audit/audit-event.entity';
import { App } from '../catalog/app.entity';
import { Device } from '../devices/device.entity';
import { Agent } from '../directory/agent.entity';
import { Ministry } from '../directory/ministry.entity';
import { RoleAssignment } from '../directory/role-assignment.entity';
import { Exemption } from '../exemptions/exemption.entity';
import { Notification } from '../notifications/notification.entity';
import { PolicyPlan } from '../policies/policy-plan.entity';
import { PolicyGroup } from '../rollout/policy-group.entity';
import { Rollout, RolloutGroup } from '../rollout/rollout.entity';
import { PolicyVersion } from '../policies/policy-version.entity';
import { Policy } from '../policies/policy.entity';

export const ENTITIES = [
  Ministry,
  Agent,
  RoleAssignment,
  App,
  Policy,
  PolicyVersion,
  PolicyPlan,
  Device,
  Exemption,
  Notification,
  PolicyGroup,
  Rollout,
  RolloutGroup,
  AndroidEnterprise,
  AndroidEnrollmentToken,
  AuditEvent,
  AuditHead,
];

/** Connections per process when DB_POOL_SIZE is not set. */
export const DEFAULT_DB_POOL_SIZE = 20;

/** The one data source definition, shared by the API, the worker, the CLIs and the tests. Never synchronize: migrations only. */
export function dataSourceOptions(url: string, poolSize = DEFAULT_DB_POOL_SIZE): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    // Appends each transaction's audit events to the hash chain just before it commits.
    subscribers: [AuditChainSubscriber],
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    extra: { max: poolSize },
  };
}

export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(url));
  await ds.initialize();
  try {
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
