import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Actor } from '../../auth/principal';
import { PolicyPlanService } from '../policy-plan.service';
import { loadPolicyFiles } from './policy-files';

export const IMPORT_ACTOR: Actor = { id: null, label: 'policy-as-code: first import at start-up' };

/**
 * On a database without any policy, loads `policies/` (plan, then apply). Once policies exist the
 * database is the source of truth: changes to the files go through `npm run policies -- plan`.
 */
export async function importPoliciesIfEmpty(app: INestApplicationContext, dir: string): Promise<{ imported: boolean; note: string }> {
  const db = app.get(DataSource);
  const [{ count }] = (await db.query('SELECT count(*)::int AS count FROM policy')) as { count: number }[];
  const desired = loadPolicyFiles(dir);
  const plans = app.get(PolicyPlanService);
  if (count > 0) {
    const plan = await plans.planDesired(desired);
    return {
      imported: false,
      note: plan.summary.hasChanges
        ? `policies/ differs from the database (${plan.summary.scopesChanged} scope(s)); review with \`npm run policies -- plan\`.`
        : 'policies/ matches the database.',
    };
  }
  const plan = await plans.planDesired(desired);
  const result = await plans.apply(IMPORT_ACTOR, plan);
  return { imported: true, note: `imported ${result.applied.length} policies, ${plan.ministries.added.length} ministries and ${result.catalog.added} apps from ${dir}` };
}
