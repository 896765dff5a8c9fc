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

  /** Devices counted by what their effective policy is made of: ministry + exempted apps. */
  async fleetGroups(tx: EntityManager, ministries?: string[]): Promise<FleetGroup[]> {
    const rows = (await tx.query(
      `SELECT g.ministry_code AS ministry, g.apps AS "exemptedApps", count(*)::int AS devices
         FROM (
           SELECT d.ministry_code,
                  coalesce((SELECT array_agg(DISTINCT e.app_slug ORDER BY e.app_slug)
                              FROM exemption e
                             WHERE e.agent_id = d.agent_id AND e.status = 'approved' AND e.valid_until > now()
                               AND (e.device_id IS NULL OR e.device_id = d.id)), '{}') AS apps
             FROM device d
            WHERE ($1::text[] IS NULL OR d.ministry_code = ANY($1))
         ) g
        GROUP BY 1, 2`,
      [ministries ?? null],
    )) as FleetGroup[];
    return rows;
  }
}

export function toDefinition(m: Ministry): MinistryDefinition {
  const def: MinistryDefinition = { code: m.code, name: m.name, emailDomains: m.emailDomains };
  if (m.siret.length > 0) def.siret = m.siret;
  return def;
}

export type { PolicyContent };
