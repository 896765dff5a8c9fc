import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AndroidPolicyHygieneService } from '../android/android-policy-hygiene.service';
import { AndroidPubsubPullService } from '../android/android-pubsub-pull.service';
import { AndroidReconcileService } from '../android/android-reconcile.service';
import { AppleCommandHygieneService } from '../apple/apple-command-hygiene.service';
import { MdmProtocolService } from '../apple/mdm-protocol.service';
import { AppleIdentityRenewalService } from '../apple/identity-renewal/apple-identity-renewal.service';
import { AbmService } from '../apple/abm/abm.service';
import { ExemptionSchedulerService } from '../exemptions/exemption-scheduler.service';
import { JobQueueService, QUEUES } from '../jobs/job-queue.service';
import { NotificationsService } from '../notifications/notifications.service';
import { ComplianceService } from '../compliance/compliance.service';
import { AuditService } from '../audit/audit.service';
import { DeviceStateService } from '../devices/device-state.service';
import { ComplianceRecomputeJob, PushJob, RolloutEngine } from '../rollout/rollout-engine.service';

/**
 * Consumes the job queues. Runs inside `npm start`, or alone with `npm run worker`; several
 * workers on one database share the jobs (pg-boss hands each job to one of them).
 */
@Injectable()
export class WorkerService {
  private readonly logger = new Logger('Worker');

  constructor(
    private readonly jobs: JobQueueService,
    private readonly scheduler: ExemptionSchedulerService,
    private readonly notifications: NotificationsService,
    private readonly engine: RolloutEngine,
    private readonly devices: DeviceStateService,
    private readonly compliance: ComplianceService,
    private readonly audit: AuditService,
    private readonly modules: ModuleRef,
  ) {}

  private optional<T>(type: new (...args: never[]) => T): T | null {
    try {
      return this.modules.get(type, { strict: false });
    } catch {
      return null;
    }
  }

  async start(): Promise<void> {
    // What expired while no worker ran is expired now, before anything else.
    await this.scheduler.expireDue();
    await this.jobs.work<{ notificationId: string }>(
      QUEUES.notificationEmail,
      async (jobs) => {
        for (const job of jobs) await this.notifications.sendEmail(job.data.notificationId);
      },
      { batchSize: 25, pollingIntervalSeconds: 1 },
    );
    await this.jobs.work(QUEUES.exemptionsExpire, async () => {
      await this.scheduler.expireDue();
      await this.scheduler.remindExpiring();
    });
    await this.jobs.work(QUEUES.exemptionsDigest, async () => {
      await this.scheduler.digest();
    });
    await this.jobs.work<{ rolloutId: string }>(QUEUES.rolloutStart, async ([job]) =>
      this.engine.prepare(job.data.rolloutId),
    );
    await this.jobs.work<PushJob>(
      QUEUES.rolloutPush,
      async (jobs) => {
        for (const job of jobs) await this.engine.handlePush(job.data);
      },
      { batchSize: 10, pollingIntervalSeconds: 1 },
    );
    await this.jobs.work(QUEUES.rolloutTick, async () => {
      await this.engine.advanceStages();
      await this.engine.retryDiverged();
    });
    await this.jobs.work<ComplianceRecomputeJob>(QUEUES.complianceRecompute, async ([job]) => {
      await this.devices.recomputeGroups(job.data.groupIds);
    });
    await this.jobs.work(QUEUES.complianceRefresh, async () => {
      await this.devices.refresh();
    });
    await this.jobs.work(QUEUES.complianceSnapshot, async () => {
      await this.compliance.snapshot();
    });
    await this.jobs.work(QUEUES.auditCheckpoint, async () => {
      await this.audit.checkpointIfMoved();
    });
    const reconciler = this.optional(AndroidReconcileService);
    if (reconciler) {
      await this.jobs.work(QUEUES.androidReconcile, async () => {
        await reconciler.reconcileAll();
      });
      await this.jobs.boss.schedule(QUEUES.androidReconcile, '0 3 * * *', null, { tz: 'Europe/Paris' });
    }
    const hygiene = this.optional(AndroidPolicyHygieneService);
    if (hygiene) {
      await this.jobs.work(QUEUES.androidPolicyHygiene, async () => {
        await hygiene.run();
      });
      await this.jobs.boss.schedule(QUEUES.androidPolicyHygiene, '17 * * * *');
    }
    // Android status reports from the Pub/Sub subscription (ANDROID_REPORTS=pull), in batches.
    this.optional(AndroidPubsubPullService)?.start();
    const mdm = this.optional(MdmProtocolService);
    if (mdm) {
      // Every minute, not a nightly batch: a share of the iPhones inventoried (each once a day),
      // postponed commands pushed again with backoff, answered commands past retention pruned.
      const commands = this.modules.get(AppleCommandHygieneService, { strict: false });
      await this.jobs.work(QUEUES.appleInventory, async () => {
        await commands.tick();
      });
      await this.jobs.boss.schedule(QUEUES.appleInventory, '* * * * *');
      // Identities close to expiry renewed in place (InstallProfile), a share each minute.
      const renewal = this.modules.get(AppleIdentityRenewalService, { strict: false });
      await this.jobs.work(QUEUES.appleIdentityRenewal, async () => {
        await renewal.tick();
      });
      await this.jobs.boss.schedule(QUEUES.appleIdentityRenewal, '* * * * *');
      // ABM devices and Apps and Books licence counts kept current without IT asking: each ministry
      // every ABM_SYNC_PERIOD_MINUTES (the tick decides whose turn it is), and once at start-up.
      const business = this.modules.get(AbmService, { strict: false });
      await this.jobs.work(QUEUES.appleBusinessSync, async () => {
        await business.scheduledSync();
      });
      await this.jobs.boss.schedule(QUEUES.appleBusinessSync, '* * * * *');
      await this.jobs.boss.send(QUEUES.appleBusinessSync, {}, { singletonKey: 'start-up', singletonSeconds: 60 });
    }
    await this.jobs.boss.schedule(QUEUES.exemptionsExpire, '* * * * *');
    await this.jobs.boss.schedule(QUEUES.rolloutTick, '* * * * *');
    await this.jobs.boss.schedule(QUEUES.complianceRefresh, '* * * * *');
    // The day's compliance snapshot, for trends: late every evening, and now (start-up).
    await this.jobs.boss.schedule(QUEUES.complianceSnapshot, '55 23 * * *', null, { tz: 'Europe/Paris' });
    await this.jobs.boss.send(QUEUES.complianceSnapshot, {}, { singletonKey: 'start-up', singletonSeconds: 60 });
    await this.jobs.boss.schedule(QUEUES.exemptionsDigest, '0 8 * * 1-5', null, { tz: 'Europe/Paris' });
    // The audit chain anchored outside the database: now, then every 5 minutes when it moved.
    await this.jobs.boss.schedule(QUEUES.auditCheckpoint, '*/5 * * * *');
    await this.jobs.boss.send(QUEUES.auditCheckpoint, {}, { singletonKey: 'start-up', singletonSeconds: 60 });
    this.logger.log(
      'worker started: rollouts, notifications, exemption expiry (every minute), approvers digest (08:00 on weekdays)',
    );
  }
}
