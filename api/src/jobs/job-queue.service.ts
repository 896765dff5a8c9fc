import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { Job, PgBoss, SendOptions } from 'pg-boss';
import { EntityManager } from 'typeorm';
import { queryRecords } from '../database/query-records';

export const JOB_QUEUE_OPTIONS = Symbol('JOB_QUEUE_OPTIONS');
export interface JobQueueOptions {
  databaseUrl: string;
  /** Workers also run pg-boss's cron and maintenance; API processes only enqueue. */
  worker: boolean;
  /** First retry delay of a failed job (doubling each time); default 5 s. */
  retryDelaySeconds?: number;
}

/** How long shutdown waits for the jobs in flight (a replica being replaced usually gets 30 s in all). */
const SHUTDOWN_GRACE_MS = 20_000;

/** A running job proves its worker alive this often (pg-boss minimum: 10 s). */
export const HEARTBEAT_SECONDS = 15;
const SUPERVISE_SECONDS = 10;

/** Every queue the service uses, declared once. */
export const QUEUES = {
  /** Send the email of an in-app notification. */
  notificationEmail: 'notifications.email',
  /** Expire exemptions whose period ended and remind agents 14 days before (every minute). */
  exemptionsExpire: 'exemptions.expire',
  /** Morning digest of pending requests for each ministry's approvers. */
  exemptionsDigest: 'exemptions.digest',
  /** A policy version was applied: recompute the scope's groups and release the first stage. */
  rolloutStart: 'rollout.start',
  /** Push one group's stage of a rollout, or devices that changed group. */
  rolloutPush: 'rollout.push',
  /** Every minute: advance staged rollouts, retry devices that did not apply, close finished rollouts. */
  rolloutTick: 'rollout.tick',
  /** Nightly: compare Google's devices with ours and repair drift. */
  androidReconcile: 'android.reconcile',
  /** Hourly: delete the AMAPI policies no group uses any more (canary variants, emptied exemption groups). */
  androidPolicyHygiene: 'android.policy-hygiene',
  /** Daily: iPhones' installed apps and supervision, for compliance. */
  appleInventory: 'apple.inventory',
  /** Every minute: iPhone identities close to expiry renewed in place, a share at a time. */
  appleIdentityRenewal: 'apple.identity-renewal',
  /** Every minute: ministries whose turn came are synced with Apple Business Manager and Apps and Books (with backoff). */
  appleBusinessSync: 'apple.business-sync',
  /** Groups whose desired policy changed: their phones' compliance is evaluated again. */
  complianceRecompute: 'compliance.recompute',
  /** Every minute: phones without a recent report become stale; the compliance counters are folded. */
  complianceRefresh: 'compliance.refresh',
  /** Nightly and at start-up: the day's compliance snapshot, for trends. */
  complianceSnapshot: 'compliance.snapshot',
  /** Every 5 minutes and at start-up: a signed checkpoint of the audit chain's head, written outside the database. */
  auditCheckpoint: 'audit.checkpoint',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * Jobs live in PostgreSQL (pg-boss). `enqueue` writes the job through the caller's transaction,
 * so a change and the work it causes commit or roll back together: the transactional outbox.
 */
@Injectable()
export class JobQueueService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  readonly boss: PgBoss;

  private readonly retryDelay: number;

  constructor(@Inject(JOB_QUEUE_OPTIONS) options: JobQueueOptions) {
    this.retryDelay = options.retryDelaySeconds ?? 5;
    // The schema is created by our migrations; pg-boss keeps its own tables current on upgrades.
    // A worker that dies (killed, crashed, cut from the database) stops the heartbeat of the jobs it
    // held: a supervising worker hands them out again within HEARTBEAT_SECONDS + SUPERVISE_SECONDS,
    // instead of after pg-boss's 15-minute expiry.
    this.boss = new PgBoss({
      connectionString: options.databaseUrl,
      schema: 'pgboss',
      createSchema: false,
      supervise: options.worker,
      schedule: options.worker,
      max: 4,
      superviseIntervalSeconds: SUPERVISE_SECONDS,
      monitorIntervalSeconds: SUPERVISE_SECONDS,
    });
    this.boss.on('error', (error: Error) => this.logger.error(`pg-boss: ${error.message}`));
  }

  async onModuleInit(): Promise<void> {
    await this.boss.start();
    for (const name of Object.values(QUEUES)) {
      const policy = {
        retryLimit: 8,
        retryDelay: this.retryDelay,
        retryBackoff: true,
        heartbeatSeconds: HEARTBEAT_SECONDS,
      };
      await this.boss.createQueue(name, policy);
      await this.boss.updateQueue(name, policy);
    }
  }

  /**
   * Before anything else closes (Nest runs this before it closes the HTTP server, and the HTTP server
   * before the database pools): the workers stop taking jobs and the jobs in flight finish, while the
   * TypeORM pool their handlers use is still open. pg-boss's own pool stays open for the requests
   * still being answered, which may queue jobs.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: SHUTDOWN_GRACE_MS, close: false });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: SHUTDOWN_GRACE_MS, close: true });
  }

  async enqueue(
    tx: EntityManager,
    name: QueueName,
    data: object,
    options: Omit<SendOptions, 'db'> = {},
  ): Promise<string | null> {
    if (!tx.queryRunner?.isTransactionActive)
      throw new Error(`Job ${name} must be enqueued inside the transaction of the change that causes it`);
    const db = {
      executeSql: async (text: string, values?: unknown[]) => {
        return { rows: await queryRecords<Record<string, unknown>>(tx, text, values) };
      },
    };
    return this.boss.send(name, data, { ...options, db });
  }

  async work<T extends object>(
    name: QueueName,
    handler: (jobs: Job<T>[]) => Promise<void>,
    options: { pollingIntervalSeconds?: number; batchSize?: number } = {},
  ): Promise<void> {
    await this.boss.work<T>(
      name,
      { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2, batchSize: options.batchSize ?? 1 },
      handler,
    );
  }
}
