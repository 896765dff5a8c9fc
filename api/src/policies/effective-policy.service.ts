import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Principal } from '../auth/principal';
import { App } from '../catalog/app.entity';
import { Device } from '../devices/device.entity';
import { Agent } from '../directory/agent.entity';
import { DirectoryError } from '../directory/directory.error';
import { ActiveExemption, EffectivePolicy, resolveEffectivePolicy } from './effective-policy.resolver';
import { PolicyStateService } from './policy-state.service';
import { PolicyError } from './policy.error';
import { CatalogApp, NATIONAL_SCOPE, PolicyContent } from './policy.types';
import { isUuid } from '../common/uuid';
import { fleetSql } from '../devices/fleet-sql';

/** Effective policy of a ministry (no exemptions), an agent (their exemptions) or a device. */
@Injectable()
export class EffectivePolicyService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly state: PolicyStateService,
    private readonly access: AccessService,
  ) {}

  async forMinistry(principal: Principal, ministry: string): Promise<EffectivePolicy> {
    if (principal.ministry !== ministry) this.access.requireAccess(principal, 'effective.read', ministry);
    return this.resolve(this.db.manager, ministry, []);
  }

  async forAgent(principal: Principal, agentId: string): Promise<EffectivePolicy> {
    const agent = isUuid(agentId) ? await this.db.getRepository(Agent).findOneBy({ id: agentId }) : null;
    if (!agent) throw new DirectoryError('agent-not-found', 'not-found', `No agent with id "${agentId}".`);
    if (agent.id !== principal.agentId) this.access.requireAccess(principal, 'effective.read', agent.ministryCode);
    return this.resolve(this.db.manager, agent.ministryCode, await this.activeExemptions(this.db.manager, agent.id, null));
  }

  async forDevice(principal: Principal, deviceId: string): Promise<EffectivePolicy & { deviceId: string }> {
    const device = isUuid(deviceId) ? await this.db.getRepository(Device).findOneBy({ id: deviceId }) : null;
    if (!device) throw new DirectoryError('device-not-found', 'not-found', `No device with id "${deviceId}".`);
    if (device.agentId !== principal.agentId) this.access.requireAccess(principal, 'device.read', device.ministryCode);
    return { deviceId: device.id, ...(await this.resolveDevice(this.db.manager, device)) };
  }

  /** Used by the rollout and exemption work as well: no access check, the caller already did it. */
  async resolveDevice(tx: EntityManager, device: Device): Promise<EffectivePolicy> {
    const exemptions = device.agentId ? await this.activeExemptions(tx, device.agentId, device.id) : [];
    return this.resolve(tx, device.ministryCode, exemptions);
  }

  async resolve(tx: EntityManager, ministry: string, exemptions: ActiveExemption[]): Promise<EffectivePolicy> {
    const national = await this.state.currentVersion(tx, NATIONAL_SCOPE);
    const own = await this.state.currentVersion(tx, ministry);
    if (!national) throw new PolicyError('no-baseline', 'not-found', 'No national baseline has been loaded yet.');
    if (!own) throw new PolicyError('unknown-scope', 'not-found', `No policy for ministry "${ministry}".`);
    const slugs = [...new Set([...national.content.rules, ...own.content.rules].map((r) => r.app).concat(exemptions.map((e) => e.app)))];
    const apps = await tx.getRepository(App).createQueryBuilder('a').where('a.slug = ANY(:slugs)', { slugs }).getMany();
    const catalog = new Map<string, CatalogApp>(apps.map((a) => [a.slug, a.toCatalogApp()]));
    return resolveEffectivePolicy({
      national: { scope: NATIONAL_SCOPE, version: national.version, content: national.content },
      ministry: { scope: ministry, version: own.version, content: own.content },
      catalog,
      exemptions,
    });
  }

  /**
   * For many resolutions in a row (every group after a baseline change): loads the baseline, the
   * ministry policies and the catalog once, then resolves in memory.
   */
  async batchResolver(tx: EntityManager): Promise<(ministry: string, exemptions: ActiveExemption[]) => EffectivePolicy> {
    const national = await this.state.currentVersion(tx, NATIONAL_SCOPE);
    if (!national) throw new PolicyError('no-baseline', 'not-found', 'No national baseline has been loaded yet.');
    const versions = (await tx.query(
      `SELECT v.scope, v.version, v.content FROM policy_version v JOIN policy p ON p.scope = v.scope AND p.current_version = v.version`,
    )) as { scope: string; version: number; content: PolicyContent }[];
    const byScope = new Map(versions.map((v) => [v.scope, v]));
    const apps = await tx.getRepository(App).find();
    const catalog = new Map<string, CatalogApp>(apps.map((a) => [a.slug, a.toCatalogApp()]));
    return (ministry, exemptions) => {
      const own = byScope.get(ministry);
      if (!own) throw new PolicyError('unknown-scope', 'not-found', `No policy for ministry "${ministry}".`);
      return resolveEffectivePolicy({
        national: { scope: NATIONAL_SCOPE, version: national.version, content: national.content },
        ministry: { scope: ministry, version: own.version, content: own.content },
        catalog,
        exemptions,
      });
    };
  }

  /** Approved and not expired; device-scoped ones only for that device (null: agent-wide ones only). */
  async activeExemptions(tx: EntityManager, agentId: string, deviceId: string | null): Promise<ActiveExemption[]> {
    const rows = (await tx.query(
      `SELECT e.id, e.app_slug AS app, e.valid_until AS "validUntil" FROM exemption e
        WHERE ${fleetSql.activeExemption('e', '$1', '$2')}`,
      [agentId, deviceId],
    )) as { id: string; app: string; validUntil: Date }[];
    return rows.map((r) => ({ id: r.id, app: r.app, validUntil: r.validUntil.toISOString() }));
  }
}
