import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { google, pubsub_v1 } from 'googleapis';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { AndroidReportsService, MessageOutcome } from './android-reports.service';

/** What one pull did. */
export interface PullOutcome {
  /** Messages received (0: the subscription had none ready). */
  received: number;
  /** Acknowledged (every message received, once its batch is written). */
  acknowledged: number;
}

/** A report naming a policy version still being recorded comes back after this many seconds. */
const RETRY_SECONDS = 2;

/** Google's cap on one unary pull. */
export const PULL_MAX_MESSAGES = 1000;

/**
 * Status reports pulled from the Pub/Sub subscription (ANDROID_REPORTS=pull), for large fleets:
 * one pull of up to 1,000 messages, one set-based write of the whole batch (AndroidReportsService →
 * DeviceStateService), one acknowledge. A batch that could not be written is handed back at once
 * (ack deadline 0) and redelivered; one that was written but whose acknowledge failed is
 * redelivered after its ack deadline and written again harmlessly (reports are applied in order of
 * their time, so a repeated one changes nothing). Several workers may pull the same subscription.
 */
@Injectable()
export class AndroidPubsubPullService implements OnModuleDestroy {
  private readonly logger = new Logger('AndroidPull');
  private readonly api: pubsub_v1.Pubsub;
  private running = false;
  private loops: Promise<void>[] = [];
  private abort = new AbortController();

  constructor(
    @Inject(ANDROID_SETTINGS) private readonly settings: AndroidSettings,
    private readonly reports: AndroidReportsService,
  ) {
    const auth = settings.accessToken
      ? new google.auth.OAuth2()
      : new google.auth.GoogleAuth({
          keyFile: settings.credentialsFile,
          scopes: ['https://www.googleapis.com/auth/pubsub'],
        });
    if (settings.accessToken && auth instanceof google.auth.OAuth2)
      auth.setCredentials({ access_token: settings.accessToken });
    this.api = google.pubsub({
      version: 'v1',
      auth,
      rootUrl: settings.pubsub.rootUrl ?? 'https://pubsub.googleapis.com/',
      fetchImplementation: fetch,
    });
  }

  get enabled(): boolean {
    return this.settings.reports === 'pull' && Boolean(this.settings.pubsub.subscription);
  }

  private get subscription(): string {
    const name = this.settings.pubsub.subscription;
    if (!name) throw new Error('PUBSUB_SUBSCRIPTION is not set');
    return name;
  }

  /** One pull, one write, one acknowledge. Throws when Pub/Sub or the database failed. */
  async pullOnce(maxMessages = PULL_MAX_MESSAGES): Promise<PullOutcome> {
    const subscription = this.subscription;
    const { data } = await this.api.projects.subscriptions.pull(
      { subscription, requestBody: { maxMessages } },
      // Not cut short by stop(): messages a pull already leased are written and acknowledged, not left
      // leased to no one until their ack deadline.
      { timeout: Math.max(this.settings.timeoutMs, 90_000), retry: false },
    );
    const received = (data.receivedMessages ?? []).filter((m): m is { ackId: string } & typeof m => Boolean(m.ackId));
    if (received.length === 0) return { received: 0, acknowledged: 0 };
    const ackIds = received.map((m) => m.ackId);
    let outcomes: MessageOutcome[];
    try {
      outcomes = await this.reports.handleMessages(received.map((m) => m.message ?? {}));
    } catch (error) {
      // Back to the subscription now rather than at the end of the ack deadline.
      await this.api.projects.subscriptions
        .modifyAckDeadline(
          { subscription, requestBody: { ackIds, ackDeadlineSeconds: 0 } },
          { timeout: this.settings.timeoutMs, retry: false },
        )
        .catch(() => undefined);
      throw error;
    }
    const later = ackIds.filter((_, i) => outcomes[i] === 'retry');
    const done = ackIds.filter((_, i) => outcomes[i] !== 'retry');
    if (later.length > 0)
      await this.api.projects.subscriptions.modifyAckDeadline(
        { subscription, requestBody: { ackIds: later, ackDeadlineSeconds: RETRY_SECONDS } },
        { timeout: this.settings.timeoutMs, retry: false },
      );
    if (done.length > 0)
      await this.api.projects.subscriptions.acknowledge(
        { subscription, requestBody: { ackIds: done } },
        { timeout: this.settings.timeoutMs, retry: false },
      );
    return { received: received.length, acknowledged: done.length };
  }

  /**
   * The worker's loop: pulls back to back while there are messages (three pulls in flight, so that
   * one batch is fetched while the other is written); after an error, waits (1 s, doubling to 60 s).
   */
  start(concurrency = 3): void {
    if (this.running || !this.enabled) return;
    this.running = true;
    this.abort = new AbortController();
    this.logger.log(`pulling status reports from ${this.subscription}`);
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  private async loop(): Promise<void> {
    let backoff = 1000;
    while (this.running) {
      try {
        const { received } = await this.pullOnce();
        backoff = 1000;
        // Pub/Sub holds an empty pull open a while itself; this only keeps a fast empty answer from spinning.
        if (received === 0) await this.pause(200);
      } catch (error) {
        if (!this.running) break;
        this.logger.warn(`pull from ${this.subscription} failed: ${(error as Error).message}; again in ${backoff} ms`);
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
  }

  /** A wait that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }
}
