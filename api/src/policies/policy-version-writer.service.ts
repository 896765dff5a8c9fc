import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import { contentHash } from '../common/canonical-hash';
import { JobQueueService, QUEUES } from '../jobs/job-queue.service';
import { Rollout } from '../rollout/rollout.entity';
import { PolicyVersion } from './policy-version.entity';
import { Policy } from './policy.entity';
import { cleanContent, PolicyContent, scopeMinistry } from './policy.types';

/** How a change reaches phones: cumulative percentages (last is 100) and the wait between stages. */
export interface RolloutRequest {
  stages: number[];
  stageWaitSeconds: number;
}

/** The one way a policy changes: a new immutable version, made current, audited, in the caller's transaction. */
@Injectable()
export class PolicyVersionWriter {
  constructor(
    private readonly audit: AuditService,
    private readonly jobs: JobQueueService,
  ) {}

  async write(
    tx: EntityManager,
    actor: Actor,
    scope: string,
    content: PolicyContent,
    meta: { comment?: string; rolledBackFrom?: number; action?: string; rollout?: RolloutRequest },
  ): Promise<PolicyVersion & { rolloutId: string }> {
    const policy = await tx.getRepository(Policy).findOne({ where: { scope }, lock: { mode: 'pessimistic_write' } });
    const previous = policy ? await tx.getRepository(PolicyVersion).findOneBy({ scope, version: policy.currentVersion }) : null;
    const version = (policy?.currentVersion ?? 0) + 1;
    if (!policy) await tx.getRepository(Policy).insert({ scope, currentVersion: version });
    const clean: PolicyContent = cleanContent(content);
    const row = await tx.getRepository(PolicyVersion).save({
      scope,
      version,
      mode: clean.mode,
      content: clean,
      contentHash: contentHash(clean),
      createdBy: actor.label,
      comment: meta.comment ?? null,
      rolledBackFrom: meta.rolledBackFrom ?? null,
    });
    if (policy) await tx.getRepository(Policy).update({ scope }, { currentVersion: version });
    // The push of this change, written with it: it cannot be lost between commit and worker.
    const stages = meta.rollout?.stages ?? [100];
    const rollout = await tx.getRepository(Rollout).save({
      scope,
      reason: `${scope} version ${version}${meta.comment ? ` — ${meta.comment}` : ''}`,
      status: 'preparing',
      stages,
      stageIndex: 0,
      stageWaitSeconds: meta.rollout?.stageWaitSeconds ?? 0,
      createdBy: actor.label,
    });
    await this.jobs.enqueue(tx, QUEUES.rolloutStart, { rolloutId: rollout.id });
    // The scope's unfinished rollouts push nothing more (the engine only pushes `running` ones):
    // they end here, naming this one, rather than stay "running" forever.
    const replaced = await tx
      .getRepository(Rollout)
      .find({ where: { scope, status: In(['preparing', 'running', 'paused']) }, lock: { mode: 'pessimistic_write' } });
    for (const old of replaced) {
      if (old.id === rollout.id) continue;
      await tx.getRepository(Rollout).update({ id: old.id }, { status: 'superseded', supersededBy: rollout.id, finishedAt: new Date() });
      await this.audit.record(tx, actor, {
        action: 'rollout.superseded',
        entityType: 'rollout',
        entityId: old.id,
        ministry: scopeMinistry(scope),
        before: { status: old.status, stageIndex: old.stageIndex },
        after: { status: 'superseded', supersededBy: rollout.id, version },
      });
    }
    // Last, so the version's event closes the change in the journal.
    await this.audit.record(tx, actor, {
      action: meta.action ?? 'policy.version-created',
      entityType: 'policy',
      entityId: scope,
      ministry: scopeMinistry(scope),
      before: previous ? { version: previous.version, contentHash: previous.contentHash, content: previous.content } : null,
      after: { version, contentHash: row.contentHash, content: clean, comment: meta.comment ?? null, rolledBackFrom: meta.rolledBackFrom ?? null },
    });
    return Object.assign(row, { rolloutId: rollout.id });
  }
}
