/**
 * A local fake of Google Cloud Pub/Sub's REST API (v1), for pull subscribers: `:pull`,
 * `:acknowledge` and `:modifyAckDeadline` on `projects/{project}/subscriptions/{subscription}`, as
 * strict as Google where a subscriber could get it wrong:
 * - an OAuth bearer token is required (401 UNAUTHENTICATED otherwise);
 * - resource names are checked (400 INVALID_ARGUMENT), unknown subscriptions are 404 NOT_FOUND;
 * - request bodies are JSON with only the documented fields (an unknown name is 400, as Google's
 *   "Invalid JSON payload received. Unknown name");
 * - `maxMessages` is required and positive; one pull returns at most 1,000 messages;
 * - `ackIds` is required and not empty, and every ack ID must be one this server gave (400 otherwise);
 *   acknowledging after the ack deadline succeeds but does nothing: the message is redelivered;
 * - `ackDeadlineSeconds` of modifyAckDeadline is 0..600; 0 hands the messages back at once;
 * - a message not acknowledged within the subscription's ack deadline (10..600 s, default 10) is
 *   delivered again, with a new ack ID;
 * - a pull without `returnImmediately` waits a while (pullWaitMs) for a message before answering `{}`.
 * Errors are in Google's JSON format: `{ error: { code, message, status } }`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { PulledMessage, PullSubscriptionSink } from '../fake-amapi/pubsub';

export interface FakePubsubOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** The bearer token subscribers must present (default 'fake-pubsub-token'). */
  accessToken?: string;
  /** Subscriptions that exist from the start. */
  subscriptions?: (string | { name: string; ackDeadlineSeconds?: number })[];
  /** How long a pull waits for a message before answering empty (default 500 ms; Google: up to about 90 s). */
  pullWaitMs?: number;
}

export type PubsubMethod = 'pull' | 'acknowledge' | 'modifyAckDeadline';

export interface PubsubRequest {
  method: PubsubMethod | string;
  subscription: string;
  status: number;
  /** Messages returned (pull) or ack IDs given (acknowledge, modifyAckDeadline). */
  count: number;
  at: number;
}

const MAX_PULL = 1000;
const SUBSCRIPTION_NAME = /^projects\/([^/]+)\/subscriptions\/([^/]+)$/;
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

class PubsubError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }

  body(): object {
    return { error: { code: this.code, message: this.message, status: this.status } };
  }
}

interface Stored {
  message: PulledMessage;
  onAck: () => void;
  /** The ack ID of the current delivery, while one is outstanding. */
  ackId?: string;
  deadline?: number;
  deliveries: number;
}

export class FakeSubscription implements PullSubscriptionSink {
  private readonly ready: Stored[] = [];
  private head = 0;
  private readonly leased = new Map<string, Stored>();
  /** Every ack ID ever given, so that a stale one is told from a forged one. */
  private readonly issued = new Set<string>();
  private waiters: (() => void)[] = [];
  acknowledged = 0;
  redelivered = 0;

  constructor(
    readonly name: string,
    readonly ackDeadlineSeconds: number,
  ) {
    if (!Number.isInteger(ackDeadlineSeconds) || ackDeadlineSeconds < 10 || ackDeadlineSeconds > 600)
      throw new Error(`fake-pubsub: ackDeadlineSeconds must be 10..600, got ${ackDeadlineSeconds}`);
  }

  enqueue(message: PulledMessage, onAck: () => void = () => undefined): void {
    this.ready.push({ message, onAck, deliveries: 0 });
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Messages not yet acknowledged (waiting or outstanding). */
  get backlog(): number {
    return this.ready.length - this.head + this.leased.size;
  }

  /** Delivered, neither acknowledged nor expired yet. */
  get outstanding(): number {
    this.expire(Date.now());
    return this.leased.size;
  }

  /** As if every ack deadline had passed: outstanding messages are delivered again. */
  expireAckDeadlines(): void {
    this.expire(Number.POSITIVE_INFINITY);
  }

  private expire(now: number): void {
    for (const [ackId, stored] of this.leased) {
      if ((stored.deadline ?? 0) > now) continue;
      this.release(ackId, stored);
    }
  }

  private release(ackId: string, stored: Stored): void {
    this.leased.delete(ackId);
    stored.ackId = undefined;
    stored.deadline = undefined;
    this.redelivered += 1;
    this.ready.push(stored);
  }

  private compact(): void {
    if (this.head > 10_000 && this.head * 2 > this.ready.length) {
      this.ready.splice(0, this.head);
      this.head = 0;
    }
  }

  hasReady(): boolean {
    this.expire(Date.now());
    return this.head < this.ready.length;
  }

  waitForMessage(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  pull(maxMessages: number): { ackId: string; message: PulledMessage }[] {
    const now = Date.now();
    this.expire(now);
    const out: { ackId: string; message: PulledMessage }[] = [];
    while (out.length < Math.min(maxMessages, MAX_PULL) && this.head < this.ready.length) {
      const stored = this.ready[this.head];
      this.head += 1;
      const ackId = randomBytes(24).toString('base64url');
      stored.ackId = ackId;
      stored.deadline = now + this.ackDeadlineSeconds * 1000;
      stored.deliveries += 1;
      this.issued.add(ackId);
      this.leased.set(ackId, stored);
      out.push({ ackId, message: stored.message });
    }
    this.compact();
    return out;
  }

  private checkAckIds(ackIds: string[]): void {
    const bad = ackIds.find((id) => !this.issued.has(id));
    if (bad !== undefined)
      throw new PubsubError(
        400,
        'INVALID_ARGUMENT',
        `You have passed an invalid ack ID to the service (ack_id=${bad.slice(0, 64)}).`,
      );
  }

  acknowledge(ackIds: string[]): void {
    this.checkAckIds(ackIds);
    const now = Date.now();
    for (const ackId of ackIds) {
      const stored = this.leased.get(ackId);
      // Past its deadline (or superseded by a redelivery): accepted, without effect.
      if (!stored || (stored.deadline ?? 0) <= now) continue;
      this.leased.delete(ackId);
      this.acknowledged += 1;
      stored.onAck();
    }
  }

  modifyAckDeadline(ackIds: string[], seconds: number): void {
    this.checkAckIds(ackIds);
    const now = Date.now();
    for (const ackId of ackIds) {
      const stored = this.leased.get(ackId);
      if (!stored || (stored.deadline ?? 0) <= now) continue;
      if (seconds === 0) this.release(ackId, stored);
      else stored.deadline = now + seconds * 1000;
    }
  }
}

export interface FakePubsub {
  /** e.g. `http://127.0.0.1:43817/`: the googleapis `rootUrl`. */
  readonly url: string;
  readonly accessToken: string;
  readonly requests: PubsubRequest[];
  subscription(name: string): FakeSubscription;
  createSubscription(name: string, ackDeadlineSeconds?: number): FakeSubscription;
  /** The next `n` calls of `method` answer `status` (default 503 UNAVAILABLE) without doing anything. */
  failNext(n: number, method: PubsubMethod, status?: number): void;
  stop(): Promise<void>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** The documented fields of each request body. */
const FIELDS: Record<PubsubMethod, string[]> = {
  pull: ['maxMessages', 'returnImmediately'],
  acknowledge: ['ackIds'],
  modifyAckDeadline: ['ackIds', 'ackDeadlineSeconds'],
};

class FakePubsubServer implements FakePubsub {
  url = '';
  readonly accessToken: string;
  readonly requests: PubsubRequest[] = [];
  private readonly subscriptions = new Map<string, FakeSubscription>();
  private readonly failures: { method: PubsubMethod; status: number }[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pullWaitMs: number;

  constructor(options: FakePubsubOptions) {
    this.accessToken = options.accessToken ?? 'fake-pubsub-token';
    this.pullWaitMs = options.pullWaitMs ?? 500;
    for (const s of options.subscriptions ?? []) {
      if (typeof s === 'string') this.createSubscription(s);
      else this.createSubscription(s.name, s.ackDeadlineSeconds);
    }
    this.server = createServer((req, res) => {
      void this.onRequest(req, res);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('fake-pubsub: no TCP address');
    this.url = `http://127.0.0.1:${address.port}/`;
  }

  createSubscription(name: string, ackDeadlineSeconds = 10): FakeSubscription {
    checkName(name);
    const subscription = new FakeSubscription(name, ackDeadlineSeconds);
    this.subscriptions.set(name, subscription);
    return subscription;
  }

  subscription(name: string): FakeSubscription {
    const subscription = this.subscriptions.get(name);
    if (!subscription) throw new Error(`fake-pubsub: no subscription ${name}`);
    return subscription;
  }

  failNext(n: number, method: PubsubMethod, status = 503): void {
    for (let i = 0; i < n; i++) this.failures.push({ method, status });
  }

  private send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/v1\/(.+):(pull|acknowledge|modifyAckDeadline)$/.exec(decodeURIComponent(url.pathname));
    const log: PubsubRequest = {
      method: match?.[2] ?? `${req.method} ${url.pathname}`,
      subscription: match?.[1] ?? '',
      status: 200,
      count: 0,
      at: Date.now(),
    };
    this.requests.push(log);
    try {
      if (!match)
        throw new PubsubError(404, 'NOT_FOUND', `The requested URL ${url.pathname} was not found on this server.`);
      if (req.method !== 'POST')
        throw new PubsubError(405, 'INVALID_ARGUMENT', `Method ${req.method} is not allowed for ${url.pathname}.`);
      if (req.headers.authorization !== `Bearer ${this.accessToken}`) {
        throw new PubsubError(
          401,
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        );
      }
      const [, name, method] = match as unknown as [string, string, PubsubMethod];
      checkName(name);
      const subscription = this.subscriptions.get(name);
      if (!subscription)
        throw new PubsubError(404, 'NOT_FOUND', `Resource not found (resource=${name.split('/')[3]}).`);
      const body = parseBody(Buffer.concat(chunks).toString('utf8'), FIELDS[method]);
      const failure = this.failures.findIndex((f) => f.method === method);
      if (failure >= 0) {
        const [{ status }] = this.failures.splice(failure, 1);
        throw new PubsubError(
          status,
          STATUS_NAMES[status] ?? 'UNKNOWN',
          'The service was unable to fulfill your request.',
        );
      }
      if (method === 'pull') {
        const max = body.maxMessages;
        if (max === undefined)
          throw new PubsubError(400, 'INVALID_ARGUMENT', 'maxMessages is required and must be a positive integer.');
        if (!Number.isInteger(max) || (max as number) <= 0 || (max as number) > 2 ** 31 - 1)
          throw new PubsubError(400, 'INVALID_ARGUMENT', `maxMessages must be a positive integer, got ${String(max)}.`);
        if (body.returnImmediately !== undefined && typeof body.returnImmediately !== 'boolean')
          throw new PubsubError(400, 'INVALID_ARGUMENT', 'returnImmediately must be a boolean.');
        if (!subscription.hasReady() && body.returnImmediately !== true)
          await subscription.waitForMessage(this.pullWaitMs);
        // A subscriber that went away while its pull waited is given nothing (nothing leased to no one).
        if (res.destroyed || req.socket.destroyed) return;
        const received = subscription.pull(max as number);
        log.count = received.length;
        this.send(res, 200, received.length ? { receivedMessages: received } : {});
        return;
      }
      const ackIds = body.ackIds;
      if (!Array.isArray(ackIds) || ackIds.length === 0)
        throw new PubsubError(400, 'INVALID_ARGUMENT', 'No ack ids specified.');
      if (!ackIds.every((id) => typeof id === 'string' && id.length > 0))
        throw new PubsubError(400, 'INVALID_ARGUMENT', 'Every ack ID must be a non-empty string.');
      log.count = ackIds.length;
      if (method === 'acknowledge') subscription.acknowledge(ackIds as string[]);
      else {
        const seconds = body.ackDeadlineSeconds;
        if (!Number.isInteger(seconds) || (seconds as number) < 0 || (seconds as number) > 600)
          throw new PubsubError(
            400,
            'INVALID_ARGUMENT',
            `Invalid ack deadline given: ${String(seconds)}. The ack deadline must be between 0 and 600 seconds.`,
          );
        subscription.modifyAckDeadline(ackIds as string[], seconds as number);
      }
      this.send(res, 200, {});
    } catch (error) {
      const e =
        error instanceof PubsubError ? error : new PubsubError(500, 'INTERNAL', `fake-pubsub: ${String(error)}`);
      log.status = e.code;
      this.send(
        res,
        e.code,
        e.body(),
        e.code === 401 ? { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' } : {},
      );
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function checkName(name: string): void {
  const m = SUBSCRIPTION_NAME.exec(name);
  if (!m || !PROJECT_ID.test(m[1]) || !RESOURCE_ID.test(m[2]) || m[2].startsWith('goog'))
    throw new PubsubError(
      400,
      'INVALID_ARGUMENT',
      `Invalid resource name given (name=${name}). Refer to https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for more information.`,
    );
}

function parseBody(text: string, fields: string[]): Record<string, unknown> {
  let body: unknown;
  try {
    body = text.trim() ? JSON.parse(text) : {};
  } catch {
    throw new PubsubError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected token.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new PubsubError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Expected an object.');
  for (const key of Object.keys(body))
    if (!fields.includes(key))
      throw new PubsubError(
        400,
        'INVALID_ARGUMENT',
        `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`,
      );
  return body as Record<string, unknown>;
}

export async function startFakePubsub(options: FakePubsubOptions = {}): Promise<FakePubsub> {
  const server = new FakePubsubServer(options);
  await server.listen(options.port ?? 0);
  return server;
}
