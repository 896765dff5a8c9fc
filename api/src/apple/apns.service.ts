import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import apn from '@parse/node-apn';
import { InjectDataSource } from '@nestjs/typeorm';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { backoffMs } from '../android/amapi-client.service';
import { isUuid } from '../common/uuid';
import { DeviceStateService } from '../devices/device-state.service';
import { PushError } from '../rollout/platform-adapter';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';
import { PushCertificateService } from './push-certificate.service';

/** Attempts of one wake-up before the push is left to the rollout's own retries. */
const MAX_ATTEMPTS = 5;

/** What a push needs from the device row. */
export interface PushTarget {
  apns_token: string | null;
  push_magic: string | null;
  apns_dead_at: Date | null;
}

/**
 * MDM pushes through APNs with the maintained node-apn (`@parse/node-apn`), HTTP/2, client
 * certificate = the MDM push certificate: `{"mdm": PushMagic}` to the device token, topic = the
 * certificate's UID. 410 marks the token dead. 429, 5xx, timeouts and dropped connections are
 * retried here with jittered backoff (node-apn's own retries are immediate and never see
 * Retry-After, so they are off), then by the rollout.
 */
@Injectable()
export class ApnsService implements OnApplicationShutdown {
  private readonly logger = new Logger('APNs');
  private provider?: { topic: string; certPem: string; provider: apn.Provider };
  /**
   * The push tokens of the devices woken in the same turn of the event loop, read in one statement
   * (`id = ANY($1)`): a fan-out of thousands of wakes costs one round trip per batch instead of one
   * per push. Not cached across batches: a TokenUpdate or a 410 is seen by the next wake.
   */
  private readonly targets = new DataLoader<string, PushTarget | undefined>(
    async (ids) => {
      const rows = (await this.db.query(
        `SELECT id, apns_token, push_magic, apns_dead_at FROM device WHERE id = ANY($1::uuid[])`,
        // One malformed id must not fail the batch of the others: it has no row, like an unknown one.
        [ids.filter(isUuid)],
      )) as (PushTarget & { id: string })[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    },
    // One batch per turn of the event loop (not per microtask drain, DataLoader's default): the
    // wakes that follow APNs answers read in the same socket read are then read together.
    { cache: false, maxBatchSize: 1000, batchScheduleFn: (callback) => setImmediate(callback) },
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly certificates: PushCertificateService,
    private readonly devices: DeviceStateService,
  ) {}

  private async connection(): Promise<{ topic: string; provider: apn.Provider }> {
    const active = await this.certificates.active();
    if (!active) throw new PushError('no MDM push certificate uploaded', false);
    if (this.provider?.certPem !== active.certPem) {
      await this.shutdown();
      const options: apn.ProviderOptions = {
        cert: active.certPem,
        key: active.keyPem,
        production: true,
        address: this.settings.apnsHost,
        port: this.settings.apnsPort,
        // An APNs that accepts the connection but never answers must not hold a rollout job forever.
        requestTimeout: this.settings.apnsTimeoutMs ?? 5000,
        connectionRetryLimit: 0,
        ...(this.settings.apnsCaPem ? { ca: [this.settings.apnsCaPem] } : {}),
      };
      this.provider = { topic: active.topic, certPem: active.certPem, provider: new apn.Provider(options) };
    }
    return this.provider;
  }

  /** Wakes one device: its token read with the other wakes of the same tick, then one push. */
  async wake(deviceId: string): Promise<void> {
    const device = await this.targets.load(deviceId);
    if (!device?.apns_token || !device.push_magic)
      throw new PushError('the device has not sent its push token yet (no TokenUpdate)', true);
    if (device.apns_dead_at)
      throw new PushError(
        'APNs reported the device token as no longer valid (410): the device must enroll again',
        false,
      );
    for (let attempt = 1; ; attempt++) {
      const { topic, provider } = await this.connection();
      const note = new apn.Notification();
      note.topic = topic;
      note.rawPayload = { mdm: device.push_magic };
      const result = await provider.send(note, device.apns_token);
      const failure = result.failed[0];
      if (!failure) return;
      const status = Number(failure.status ?? 0);
      const reason =
        (failure.response as { reason?: string } | undefined)?.reason ?? failure.error?.message ?? 'unknown';
      if (status === 410) {
        await this.devices.markPushChannelDead(deviceId);
        throw new PushError(`APNs: device token unregistered (410 ${reason})`, false);
      }
      // No status: a timeout or a dropped connection, the push may not have arrived.
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt >= MAX_ATTEMPTS) {
        this.logger.warn(`APNs ${status || 'error'} for ${deviceId}: ${reason}`);
        throw new PushError(
          `APNs refused the push (${status || 'connection'} ${reason})${retryable ? ` after ${attempt} attempts` : ''}`,
          retryable,
        );
      }
      await new Promise((r) => setTimeout(r, backoffMs(attempt)));
    }
  }

  /** node-apn's shutdown resolves through its callback only. */
  private shutdown(): Promise<void> {
    const provider = this.provider?.provider;
    this.provider = undefined;
    return provider ? new Promise((resolve) => void provider.shutdown(() => resolve())) : Promise.resolve();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.shutdown();
  }
}
