import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { Principal } from '../auth/principal';
import { Agent } from '../directory/agent.entity';
import { JobQueueService, QUEUES } from '../jobs/job-queue.service';
import { MAILER, Mailer } from './mailer';
import { Notification } from './notification.entity';
import { NotificationError } from './notification.error';
import { isUuid } from '../common/uuid';

export const PUBLIC_URL = Symbol('PUBLIC_URL');

export interface NotificationDraft {
  kind: string;
  title: string;
  body: string;
  link?: string;
}

/** In-app notifications, each doubled by an email sent from a job (never lost, never blocking). */
@Injectable()
export class NotificationsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly jobs: JobQueueService,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
  ) {}

  /**
   * Absolute link to a page of the admin interface (its route, `/exemptions/<id>`), for emails and
   * the in-app list. The interface routes in the URL fragment (`/#/…`), because the API owns the
   * paths: `/exemptions/<id>` without the `#` is the API's JSON, not a page.
   */
  linkTo(route: string): string {
    return `${this.publicUrl}/#${route.startsWith('/') ? route : `/${route}`}`;
  }

  async notify(tx: EntityManager, agentIds: string[], draft: NotificationDraft): Promise<void> {
    for (const agentId of new Set(agentIds)) {
      const saved = await tx
        .getRepository(Notification)
        .save({ agentId, kind: draft.kind, title: draft.title, body: draft.body, link: draft.link ?? null });
      await this.jobs.enqueue(tx, QUEUES.notificationEmail, { notificationId: saved.id }, { singletonKey: saved.id });
    }
  }

  async mine(principal: Principal, unreadOnly: boolean): Promise<Notification[]> {
    return this.db.getRepository(Notification).find({
      where: { agentId: principal.agentId, ...(unreadOnly ? { readAt: IsNull() } : {}) },
      order: { createdAt: 'DESC' },
      take: 100,
    });
  }

  /** Idempotent for the owner; someone else's notification, or none, is a 404 (the same answer: nothing is revealed). */
  async markRead(principal: Principal, id: string): Promise<void> {
    const mine = isUuid(id) && (await this.db.getRepository(Notification).existsBy({ id, agentId: principal.agentId }));
    if (!mine) throw new NotificationError('not-found', 'not-found', 'You have no notification with this id.');
    await this.db
      .getRepository(Notification)
      .update({ id, agentId: principal.agentId, readAt: IsNull() }, { readAt: new Date() });
  }

  /** Job handler: sends the email once; a failure is retried by the queue with backoff. */
  async sendEmail(notificationId: string): Promise<void> {
    const notification = await this.db.getRepository(Notification).findOneBy({ id: notificationId });
    if (!notification || notification.emailSentAt) return;
    const agent = await this.db.getRepository(Agent).findOneByOrFail({ id: notification.agentId });
    const text = notification.link ? `${notification.body}\n\n${notification.link}` : notification.body;
    await this.mailer.send({ to: agent.email, subject: notification.title, text });
    await this.db.getRepository(Notification).update({ id: notification.id }, { emailSentAt: new Date() });
  }
}
