import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Principal } from '../auth/principal';
import { DirectoryError } from '../directory/directory.error';
import { Compliance, Device } from './device.entity';

/** Enrolled phones: the agent's own, or a ministry's for its IT and digital directorate. */
@Injectable()
export class DevicesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
  ) {}

  async mine(principal: Principal): Promise<Device[]> {
    return this.db.getRepository(Device).find({ where: { agentId: principal.agentId }, order: { displayName: 'ASC' } });
  }

  async list(principal: Principal, ministry: string, filter: { compliance?: Compliance; limit?: number; offset?: number }): Promise<{ total: number; items: Device[] }> {
    this.access.requireAccess(principal, 'device.read', ministry);
    const [items, total] = await this.db.getRepository(Device).findAndCount({
      where: { ministryCode: ministry, ...(filter.compliance ? { compliance: filter.compliance } : {}) },
      order: { displayName: 'ASC', id: 'ASC' },
      take: Math.min(filter.limit ?? 100, 500),
      skip: filter.offset ?? 0,
    });
    return { total, items };
  }

  async get(principal: Principal, id: string): Promise<Device> {
    const device = /^[0-9a-f-]{36}$/i.test(id) ? await this.db.getRepository(Device).findOneBy({ id }) : null;
    if (!device) throw new DirectoryError('device-not-found', 'not-found', `No device with id "${id}".`);
    if (device.agentId !== principal.agentId) this.access.requireAccess(principal, 'device.read', device.ministryCode);
    return device;
  }
}
