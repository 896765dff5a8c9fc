import { JobQueueService, QUEUES } from '../../src/jobs/job-queue.service';
import { PushJob, RolloutEngine } from '../../src/rollout/rollout-engine.service';
import { TestApp } from './test-app';

/**
 * Runs the rollout jobs waiting in PostgreSQL, in this process, until none is left: what a worker
 * does, made deterministic for tests that look at each step.
 */
export async function drainRolloutJobs(t: TestApp): Promise<number> {
  const boss = t.app.get(JobQueueService).boss;
  const engine = t.app.get(RolloutEngine);
  let ran = 0;
  for (;;) {
    let progressed = false;
    for (const queue of [QUEUES.rolloutStart, QUEUES.rolloutPush]) {
      const jobs = await boss.fetch<Record<string, unknown>>(queue, { batchSize: 100 });
      for (const job of jobs) {
        if (queue === QUEUES.rolloutStart) await engine.prepare(job.data.rolloutId as string);
        else await engine.handlePush(job.data as unknown as PushJob);
        await boss.complete(queue, job.id);
        ran++;
        progressed = true;
      }
    }
    if (!progressed) return ran;
  }
}
