import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Principal } from '../auth/principal';
import { DirectoryError } from '../directory/directory.error';
import { Compliance, Device } from './device.entity';

export type DeviceView = Device & { desiredHash: string | null; converged: boolean };

/** Enrolled phones: the agent's own, or a ministry's for its IT and digital directorate. */
@Injectable()
export class DevicesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
  ) {}

  async mine(principal: Principal): Promise<DeviceView[]> {
    return this.withDesired(await this.db.getRepository(Device).find({ where: { agentId: principal.agentId }, order: { displayName: 'ASC' } }));
  }

  async list(principal: Principal, ministry: string, filter: { compliance?: Compliance; limit?: number; offset?: number }): Promise<{ total: number; items: DeviceView[] }> {
    this.access.requireAccess(principal, 'device.read', ministry);
    const [items, total] = await this.db.getRepository(Device).findAndCount({
      where: { ministryCode: ministry, ...(filter.compliance ? { compliance: filter.compliance } : {}) },
      order: { displayName: 'ASC', id: 'ASC' },
      take: Math.min(filter.limit ?? 100, 500),
      skip: filter.offset ?? 0,
    });
    return { total, items: await this.withDesired(items) };
  }

  async get(principal: Principal, id: string): Promise<DeviceView> {
    const device = /^[0-9a-f-]{36}$/i.test(id) ? await this.db.getRepository(Device).findOneBy({ id }) : null;
    if (!device) throw new DirectoryError('device-not-found', 'not-found', `No device with id "${id}".`);
    if (device.agentId !== principal.agentId) this.access.requireAccess(principal, 'device.read', device.ministryCode);
    return (await this.withDesired([device]))[0];
  }

  /** The desired policy is held by the device's group; `converged` when the phone applied it. */
  private async withDesired(devices: Device[]): Promise<DeviceView[]> {
    const ids = [...new Set(devices.map((d) => d.groupId).filter((g): g is string => g !== null))];
    const groups = ids.length ? ((await this.db.query('SELECT id, desired_hash FROM policy_group WHERE id = ANY($1)', [ids])) as { id: string; desired_hash: string }[]) : [];
    const desired = new Map(groups.map((g) => [g.id, g.desired_hash]));
    return devices.map((d) => {
      const desiredHash = d.groupId ? desired.get(d.groupId) ?? null : null;
      return { ...d, desiredHash, converged: desiredHash !== null && d.appliedHash === desiredHash };
    });
  }
}
