/**
 * Pub/Sub delivery of Android Management API notifications: stored in a pull subscription (see
 * tools/fake-pubsub) when `pullSubscription` is set, otherwise pushed as Google does it: a POST of
 * `{ message: { data, attributes, messageId, publishTime }, subscription }` with an OIDC token
 * (RS256 JWT from "Google") in `Authorization: Bearer`, retried with back-off until acknowledged
 * (102, 200, 201, 202 or 204). The signing key is the fake's own; its JWKS is served by the fake.
 * Only node built-ins: the key pair, the JWK export and the RS256 signature come from node:crypto.
 */
import { createHash, createSign, generateKeyPairSync, KeyObject, randomInt } from 'node:crypto';
import type { Json, JsonObject } from './discovery';

export type NotificationType = 'ENROLLMENT' | 'STATUS_REPORT' | 'COMMAND' | 'USAGE_LOGS' | 'ENTERPRISE_UPGRADE';

/** A Pub/Sub message as a subscriber receives it. */
export interface PulledMessage {
  data: string;
  attributes: Record<string, string>;
  messageId: string;
  publishTime: string;
}

/** A pull subscription's queue (tools/fake-pubsub): it keeps a message until a subscriber acknowledges it. */
export interface PullSubscriptionSink {
  enqueue(message: PulledMessage, onAck: () => void): void;
}

export interface PubsubOptions {
  /**
   * Pull delivery: each notification is stored in this subscription (tools/fake-pubsub) until a
   * subscriber pulls and acknowledges it; `pushEndpoint` is then not used. Can be set at any time.
   */
  pullSubscription?: PullSubscriptionSink;
  /**
   * Phones switched off (device names): they neither apply a policy nor report, so nothing is
   * published for them. Can be changed at any time.
   */
  offlineDevices?: ReadonlySet<string>;
  /** Where pushes go; nothing is sent (only recorded) while unset. Can be changed at any time. */
  pushEndpoint?: string;
  /** `aud` of the OIDC token. Like Pub/Sub, defaults to the push endpoint URL. */
  audience?: string;
  /** Default `projects/fake-project/subscriptions/amapi`. */
  subscription?: string;
  /** Default `amapi-push@fake-project.iam.gserviceaccount.com`. */
  serviceAccountEmail?: string;
  /** Delivery attempts per message before giving up (default 5; Pub/Sub itself retries for days). */
  maxAttempts?: number;
  /** First retry delay, doubled at each attempt, capped at 2 s (default 100 ms). */
  retryDelayMs?: number;
}

export interface PushRecord {
  messageId: string;
  notificationType: NotificationType;
  publishTime: string;
  /** The notification payload (a Device resource for ENROLLMENT and STATUS_REPORT). */
  data: JsonObject;
  /**
   * Delivery outcome: `pending` (or waiting in the pull subscription), `delivered` (acknowledged),
   * `failed` (gave up), `skipped` (no endpoint).
   */
  outcome: 'pending' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  /** HTTP status of the last attempt, or 0 when it failed before any answer. */
  lastStatus: number;
  lastError?: string;
}

export const PUBSUB_ACK_STATUSES: readonly number[] = [102, 200, 201, 202, 204];
const GOOGLE_ISSUER = 'https://accounts.google.com';

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export class PubsubPusher {
  readonly records: PushRecord[] = [];
  private readonly privateKey: KeyObject;
  private readonly publicJwk: JsonObject;
  private readonly kid: string;
  private readonly subjectId = String(100000000000000000000n + BigInt(randomInt(1, 2 ** 47)));
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly inFlight = new Set<AbortController>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextId = BigInt(randomInt(1, 2 ** 40)) * 1000n;

  constructor(readonly options: PubsubOptions) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.kid = createHash('sha256').update(String(jwk.n)).digest('hex').slice(0, 40);
    this.publicJwk = {
      kty: String(jwk.kty),
      n: String(jwk.n),
      e: String(jwk.e),
      alg: 'RS256',
      use: 'sig',
      kid: this.kid,
    };
  }

  get serviceAccountEmail(): string {
    return this.options.serviceAccountEmail ?? 'amapi-push@fake-project.iam.gserviceaccount.com';
  }

  /** `{ keys: [JWK] }`, as served at /_fake/pubsub/certs. */
  jwks(): JsonObject {
    return { keys: [this.publicJwk] };
  }

  /** An OIDC ID token like the one Pub/Sub attaches to authenticated pushes. */
  signToken(audience: string, now = Math.floor(Date.now() / 1000)): string {
    const header = { alg: 'RS256', kid: this.kid, typ: 'JWT' };
    const payload = {
      aud: audience,
      azp: this.subjectId,
      email: this.serviceAccountEmail,
      email_verified: true,
      exp: now + 3600,
      iat: now,
      iss: GOOGLE_ISSUER,
      sub: this.subjectId,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(this.privateKey);
    return `${input}.${base64url(signature)}`;
  }

  /**
   * Queues a notification (deliveries are sequential, in publish order) and resolves once it was
   * acknowledged, given up on, or skipped for want of an endpoint.
   */
  publish(notificationType: NotificationType, data: JsonObject): Promise<PushRecord> {
    if (typeof data.name === 'string' && this.options.offlineDevices?.has(data.name))
      return Promise.resolve(this.offlineRecord(notificationType));
    this.nextId += 1n;
    const record: PushRecord = {
      messageId: this.nextId.toString(),
      notificationType,
      publishTime: new Date().toISOString(),
      data: structuredClone(data),
      outcome: 'pending',
      attempts: 0,
      lastStatus: 0,
    };
    this.records.push(record);
    const pull = this.options.pullSubscription;
    if (pull) {
      // Stored by Pub/Sub: the publisher is done; the subscriber acknowledges when it pleases.
      pull.enqueue(
        {
          data: Buffer.from(JSON.stringify(record.data)).toString('base64'),
          attributes: { notificationType: record.notificationType },
          messageId: record.messageId,
          publishTime: record.publishTime,
        },
        () => {
          record.attempts += 1;
          record.outcome = 'delivered';
        },
      );
      return Promise.resolve(record);
    }
    const done = this.chain.then(() => this.deliver(record));
    this.chain = done.then(
      () => undefined,
      () => undefined,
    );
    return done.then(() => record);
  }

  /** What a switched-off phone publishes: nothing (not recorded among the deliveries). */
  private offlineRecord(notificationType: NotificationType): PushRecord {
    return {
      messageId: '',
      notificationType,
      publishTime: new Date().toISOString(),
      data: {},
      outcome: 'skipped',
      attempts: 0,
      lastStatus: 0,
    };
  }

  /** Resolves when every queued notification has been delivered or given up on. */
  async flush(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  stop(): void {
    this.stopped = true;
    for (const controller of this.inFlight) controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async deliver(record: PushRecord): Promise<void> {
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 5);
    let delay = this.options.retryDelayMs ?? 100;
    while (!this.stopped) {
      const endpoint = this.options.pushEndpoint;
      if (!endpoint) {
        record.outcome = 'skipped';
        return;
      }
      record.attempts += 1;
      const message: Json = {
        attributes: { notificationType: record.notificationType },
        data: Buffer.from(JSON.stringify(record.data)).toString('base64'),
        messageId: record.messageId,
        message_id: record.messageId,
        publishTime: record.publishTime,
        publish_time: record.publishTime,
      };
      const body = JSON.stringify({
        message,
        subscription: this.options.subscription ?? 'projects/fake-project/subscriptions/amapi',
      });
      const controller = new AbortController();
      this.inFlight.add(controller);
      const timeout = setTimeout(() => controller.abort(), 10_000);
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.signToken(this.options.audience ?? endpoint)}`,
            'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
          },
          body,
          signal: controller.signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        record.lastStatus = response.status;
        record.lastError = undefined;
        if (PUBSUB_ACK_STATUSES.includes(response.status)) {
          record.outcome = 'delivered';
          return;
        }
      } catch (error) {
        record.lastStatus = 0;
        record.lastError = error instanceof Error ? error.message : String(error);
      } finally {
        clearTimeout(timeout);
        this.inFlight.delete(controller);
      }
      if (record.attempts >= maxAttempts) break;
      await this.sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
    record.outcome = 'failed';
  }
}
