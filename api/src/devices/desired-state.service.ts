import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { JobQueueService, QUEUES } from '../jobs/job-queue.service';
import { EffectivePolicyService } from '../policies/effective-policy.service';
import { Device } from './device.entity';

/**
 * Recomputes the desired effective-policy hash of the devices a change touches, inside the
 * change's transaction, and enqueues their push in that same transaction (the outbox).
 */
@Injectable()
export class DesiredStateService {
  constructor(
    private readonly effective: EffectivePolicyService,
    private readonly jobs: JobQueueService,
  ) {}

  async refreshAgentDevices(tx: EntityManager, agentId: string, reason: string): Promise<string[]> {
    const devices = await tx.getRepository(Device).find({ where: { agentId }, lock: { mode: 'pessimistic_write' } });
    const changed: string[] = [];
    for (const device of devices) {
      const policy = await this.effective.resolveDevice(tx, device);
      if (policy.hash === device.desiredHash) continue;
      await tx.getRepository(Device).update({ id: device.id }, { desiredHash: policy.hash });
      changed.push(device.id);
    }
    if (changed.length > 0) await this.jobs.enqueue(tx, QUEUES.rolloutPush, { deviceIds: changed, reason });
    return changed;
  }
}
