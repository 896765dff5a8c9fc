import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Actor } from '../auth/principal';
import { fleetSql } from '../devices/fleet-sql';
import { NotificationsService } from '../notifications/notifications.service';
import { REMINDER_DAYS_BEFORE_EXPIRY } from './exemption-lifecycle';
import { ExemptionsService, frDate } from './exemptions.service';

const SCHEDULER: Actor = { id: null, label: 'system: exemption scheduler' };
const BATCH = 200;

/**
 * Time-driven side of the workflow: expiry (every minute, and at start-up so that what expired
 * while the service was down is expired at once), reminders 14 days ahead, approvers' digest.
 */
@Injectable()
export class ExemptionSchedulerService {
  private readonly logger = new Logger('Exemptions');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly exemptions: ExemptionsService,
    private readonly notifications: NotificationsService,
  ) {}

  async expireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = (await this.db.query(
        `SELECT id FROM exemption WHERE status = 'approved' AND valid_until <= now() ORDER BY valid_until LIMIT $1`,
        [BATCH],
      )) as { id: string }[];
      for (const { id } of due) {
        // One transaction per exemption: a failure leaves the others expired and is retried next minute.
        if (await this.db.transaction((tx) => this.exemptions.expire(tx, SCHEDULER, id))) total++;
      }
      if (due.length < BATCH) break;
    }
    if (total > 0) this.logger.log(`${total} exemption(s) expired`);
    return total;
  }

  /** Once per exemption, 14 days before its end, unless a renewal is already pending. */
  async remindExpiring(): Promise<number> {
    const rows = (await this.db.query(
      `SELECT e.id, e.agent_id, e.valid_until, app.name AS app_name FROM exemption e JOIN app ON app.slug = e.app_slug
        WHERE ${fleetSql.exemptionActive('e')} AND e.expiry_reminded_at IS NULL
          AND e.valid_until <= now() + make_interval(days => $1)
          AND NOT EXISTS (SELECT 1 FROM exemption r WHERE r.renewal_of = e.id AND r.status = 'pending')
        LIMIT 1000`,
      [REMINDER_DAYS_BEFORE_EXPIRY],
    )) as { id: string; agent_id: string; valid_until: Date; app_name: string }[];
    for (const row of rows) {
      await this.db.transaction(async (tx) => {
        const claimed = await tx.query(
          `UPDATE exemption SET expiry_reminded_at = now() WHERE id = $1 AND expiry_reminded_at IS NULL RETURNING id`,
          [row.id],
        );
        if ((claimed as unknown[]).length === 0) return;
        await this.notifications.notify(tx, [row.agent_id], {
          kind: 'exemption.expiring',
          title: `Votre dérogation pour ${row.app_name} expire le ${frDate(row.valid_until)}`,
          body: `Votre dérogation pour ${row.app_name} prend fin le ${frDate(row.valid_until)}. Si le besoin demeure, demandez son renouvellement en un clic : la direction du numérique de votre ministère l'examinera.`,
          link: this.notifications.linkTo(`/exemptions/${row.id}?renew=1`),
        });
      });
    }
    return rows.length;
  }

  /** For each ministry with pending requests: one message to each of its approvers. */
  async digest(): Promise<number> {
    const pending = (await this.db.query(
      `SELECT ministry_code, count(*)::int AS n, min(requested_at) AS oldest FROM exemption WHERE status = 'pending' GROUP BY ministry_code`,
    )) as { ministry_code: string; n: number; oldest: Date }[];
    let sent = 0;
    for (const m of pending) {
      const approvers = (await this.db.query(
        `SELECT agent_id FROM role_assignment WHERE role = 'approver' AND ministry_code = $1`,
        [m.ministry_code],
      )) as { agent_id: string }[];
      if (approvers.length === 0) continue;
      await this.db.transaction((tx) =>
        this.notifications.notify(
          tx,
          approvers.map((a) => a.agent_id),
          {
            kind: 'exemption.digest',
            title: m.n > 1 ? `${m.n} demandes de dérogation en attente` : '1 demande de dérogation en attente',
            body: `${m.n > 1 ? `${m.n} demandes de dérogation attendent` : '1 demande de dérogation attend'} une décision ; la plus ancienne date du ${frDate(m.oldest)}.`,
            link: this.notifications.linkTo(`/validation/file?ministere=${encodeURIComponent(m.ministry_code)}`),
          },
        ),
      );
      sent += approvers.length;
    }
    return sent;
  }
}
