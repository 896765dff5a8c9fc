import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { App } from '../catalog/app.entity';
import { Ministry } from '../directory/ministry.entity';
import { CurrentState, FleetGroup } from './plan/plan-builder';
import { PolicyVersion } from './policy-version.entity';
import { Policy } from './policy.entity';
import { MinistryDefinition, PolicyContent } from './policy.types';

/** Reads the policy state from the database in the policy-as-code shape. */
@Injectable()
export class PolicyStateService {
  async current(tx: EntityManager): Promise<CurrentState> {
    // Sequential: inside a transaction all queries share one connection.
    const apps = await tx.getRepository(App).find({ order: { slug: 'ASC' } });
    const ministries = await tx.getRepository(Ministry).find({ order: { code: 'ASC' } });
    const versions = await tx
      .getRepository(PolicyVersion)
      .createQueryBuilder('v')
      .innerJoin(Policy, 'p', 'p.scope = v.scope AND p.current_version = v.version')
      .getMany();
    return {
      catalog: apps.map((a) => a.toCatalogApp()),
      ministries: ministries.map(toDefinition),
      policies: Object.fromEntries(versions.map((v) => [v.scope, v.content])),
      versions: Object.fromEntries(versions.map((v) => [v.scope, v.version])),
    };
  }

  async currentVersion(tx: EntityManager, scope: string): Promise<PolicyVersion | null> {
    return tx
      .getRepository(PolicyVersion)
      .createQueryBuilder('v')
      .innerJoin(Policy, 'p', 'p.scope = v.scope AND p.current_version = v.version')
      .where('v.scope = :scope', { scope })
      .getOne();
  }

  /**
   * Devices counted by what their effective policy is made of: ministry + exempted apps, i.e. their
   * policy group; a device not yet in a group counts with its ministry's plain group.
   */
  async fleetGroups(tx: EntityManager, ministries?: string[]): Promise<FleetGroup[]> {
    return (await tx.query(
      `SELECT d.ministry_code AS ministry, coalesce(g.exempted_apps, '{}') AS "exemptedApps", count(*)::int AS devices
         FROM device d LEFT JOIN policy_group g ON g.id = d.group_id
        WHERE ($1::text[] IS NULL OR d.ministry_code = ANY($1))
        GROUP BY 1, 2`,
      [ministries ?? null],
    )) as FleetGroup[];
  }
}

export function toDefinition(m: Ministry): MinistryDefinition {
  const def: MinistryDefinition = { code: m.code, name: m.name, emailDomains: m.emailDomains };
  if (m.siret.length > 0) def.siret = m.siret;
  return def;
}

export type { PolicyContent };
