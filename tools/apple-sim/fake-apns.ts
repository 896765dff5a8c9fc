/**
 * A fake Apple Push Notification service (HTTP/2 provider API) for MDM pushes.
 *
 * HTTP/2 over TLS on 127.0.0.1 (node:http2), client certificate requested. It checks what APNs
 * checks for an MDM push, with APNs' status codes and `{"reason": ...}` bodies:
 * - the client certificate chains to the given CA (else 403 BadCertificate) and has a UID (the
 *   topic) and one of Apple's APNs extensions 1.2.840.113635.100.6.3.1/.2 (else 403 BadCertificate);
 *   if `expectedTopic` is set, the certificate's topic must be it (else 400 TopicDisallowed);
 * - `POST` (else 405 MethodNotAllowed) to `/3/device/<token>` (else 404 BadPath), token = 64 hex
 *   digits (else 400 BadDeviceToken; empty: MissingDeviceToken);
 * - header `apns-topic` present (else 400 MissingTopic) and equal to the certificate's UID (else
 *   400 TopicDisallowed); `apns-push-type`, if present, `mdm` (else 400 InvalidPushType);
 *   `apns-priority`, if present, 5 or 10 (else 400 BadPriority); `apns-expiration` an integer
 *   (else 400 BadExpirationDate); `apns-id` a UUID (else 400 BadMessageId);
 * - body: JSON object exactly `{"mdm": "<PushMagic>"}` (nothing else, no `aps`): empty → 400
 *   PayloadEmpty; > 4096 bytes → 413 PayloadTooLarge; anything else → 400 BadPayload (not an
 *   Apple reason string; `detail` says why);
 * - a token in `deadTokens` → 410 `{"reason":"Unregistered","timestamp":<ms>}`.
 * Success: 200, empty body, header `apns-id` (the request's or a new UUID).
 *
 * Fault injection: `failNext(n, 429|500|503)` (TooManyRequests / InternalServerError /
 * ServiceUnavailable), applied after the certificate check. @parse/node-apn retries 408, 429,
 * 500, 502, 503 and 504 up to `connectionRetryLimit` (3) times, so failNext(1, 503) is absorbed
 * by the client; each HTTP request counts. `faults` (mutable at any time, rate 0 = none) adds
 * random faults to a share of requests: 429 with Retry-After, 500, 503, `timeout` (the stream is
 * never answered: the client must give up by itself) and `drop` (the whole HTTP/2 session is
 * destroyed mid-request). A faulted request is never a push: nothing is recorded in `pushes`.
 *
 * `onPush(listener)` is called (asynchronously, after the answer) for each accepted push, so a
 * simulated device can wake up (see SimulatedIPhone.connectTo).
 */
import { randomUUID } from 'node:crypto';
import {
  constants as h2,
  createSecureServer,
  Http2SecureServer,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
  ServerHttp2Session,
  ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { OID_APNS_DEVELOPMENT, OID_APNS_PRODUCTION, parseCertificate, readTopicFromCertificate } from './pki';

export interface FakeApnsOptions {
  /** CA that issued the accepted push certificates ("Apple"). */
  ca: { certPem: string };
  /** TLS server certificate of the fake (e.g. createServerCertificate(ca, ['127.0.0.1'])). */
  serverCert: { certPem: string; keyPem: string };
  /** If set, only a certificate with this topic is accepted. */
  expectedTopic?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Delay before each answer (ms, default 0). */
  latencyMs?: number;
  faults?: Partial<FaultConfig>;
  /** Random source of fault injection (default Math.random). */
  random?: () => number;
}

export interface PushRecord {
  /** Lower-case hex. */
  token: string;
  pushMagic: string;
  topic: string;
  at: Date;
  apnsId: string;
  priority?: number;
  pushType?: string;
  expiration?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  reason?: string;
  detail?: string;
  token?: string;
  topic?: string;
  /** A random fault injected instead of the answer (`timeout` and `drop` have status 0). */
  fault?: FaultKind;
  at: Date;
}

export type PushListener = (token: string, pushMagic: string, push: PushRecord) => void | Promise<void>;

export type FaultStatus = 429 | 500 | 503;
export type FaultKind = '429' | '500' | '503' | 'timeout' | 'drop';

export interface FaultConfig {
  /** Probability (0..1) that a request (after the certificate check) gets a fault drawn from `kinds`. */
  rate: number;
  kinds: FaultKind[];
  /** `retry-after` of 429 answers, in seconds (default 1). */
  retryAfterSeconds?: number;
}

const FAULT_REASONS: Record<FaultStatus, string> = {
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};
const MAX_PAYLOAD = 4096;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

class ApnsError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(reason);
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** True if the DER certificate carries one of Apple's APNs client extensions. */
function hasApnsExtension(der: Buffer): boolean {
  return (parseCertificate(der).extensions ?? []).some(
    (e) => e.extnID === OID_APNS_DEVELOPMENT || e.extnID === OID_APNS_PRODUCTION,
  );
}

export class FakeApns {
  readonly pushes: PushRecord[] = [];
  readonly requests: RequestRecord[] = [];
  /** Tokens (lower-case hex) answered 410 Unregistered. */
  readonly deadTokens = new Set<string>();
  /** Errors thrown by push listeners (they never break the server). */
  readonly listenerErrors: unknown[] = [];
  latencyMs: number;
  /** Random faults (mutable: set `rate` to 0 to stop them). */
  faults: FaultConfig;
  private readonly random: () => number;
  private readonly listeners = new Set<PushListener>();
  /** What each client certificate (by its DER) says: its topic and whether it is an APNs certificate. */
  private readonly certificateReads = new Map<string, { topic: string | null; apns: boolean } | { error: string }>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private queuedFaults: { remaining: number; status: FaultStatus }[] = [];
  private readonly sessions = new Set<ServerHttp2Session>();

  constructor(
    private readonly server: Http2SecureServer,
    private readonly options: FakeApnsOptions,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.faults = { rate: 0, kinds: ['503'], ...options.faults };
    this.random = options.random ?? Math.random;
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      // A client that goes away must not crash the fake.
      session.on('error', () => undefined);
    });
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.handle(stream, headers));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `https://127.0.0.1:<port>` */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Options for `new apn.Provider(...)` pointing at this fake (add `cert` and `key`). */
  providerOptions(serverCaPem: string): { address: string; port: number; ca: string[]; production: false } {
    return { address: '127.0.0.1', port: this.port, ca: [serverCaPem], production: false };
  }

  /** The next `count` requests (after the certificate check) are answered `status`. */
  failNext(count: number, status: FaultStatus = 503): void {
    if (count > 0) this.queuedFaults.push({ remaining: count, status });
  }

  /** Drops the queued `failNext` faults and stops the random ones. */
  clearFaults(): void {
    this.queuedFaults = [];
    this.faults = { ...this.faults, rate: 0 };
  }

  /** Registers a listener for accepted pushes; returns a function that removes it. */
  onPush(listener: PushListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pushesFor(token: string): PushRecord[] {
    const t = token.toLowerCase();
    return this.pushes.filter((p) => p.token === t);
  }

  /** Resolves once `count` pushes in total have been accepted (default: one more than now). */
  waitForPushes(count = this.pushes.length + 1, timeoutMs = 10_000): Promise<void> {
    if (this.pushes.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`fake APNs: ${this.pushes.length} push(es) after ${timeoutMs} ms, expected ${count}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  reset(): void {
    this.pushes.length = 0;
    this.requests.length = 0;
    this.deadTokens.clear();
    this.listenerErrors.length = 0;
    this.clearFaults();
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_PAYLOAD + 1) chunks.push(chunk);
    });
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = header(headers, h2.HTTP2_HEADER_METHOD) ?? '';
      const path = header(headers, h2.HTTP2_HEADER_PATH) ?? '';
      const record: RequestRecord = { method, path, status: 0, at: new Date() };
      let push: PushRecord | undefined;
      let apnsId: string = randomUUID();
      const fault = this.randomFault(stream.session?.socket as TLSSocket | undefined);
      if (fault) {
        record.fault = fault;
        this.requests.push(record);
        if (fault === 'drop') {
          stream.session?.destroy();
          return;
        }
        if (fault === 'timeout') return; // never answered: the client's own timeout must end it
        const status = Number(fault) as FaultStatus;
        record.status = status;
        record.reason = FAULT_REASONS[status];
        const out: OutgoingHttpHeaders = {
          [h2.HTTP2_HEADER_STATUS]: status,
          'apns-id': apnsId,
          'content-type': 'application/json; charset=utf-8',
        };
        if (status === 429) out['retry-after'] = String(this.faults.retryAfterSeconds ?? 1);
        const send = (): void => {
          if (stream.destroyed || stream.closed) return;
          stream.respond(out);
          stream.end(JSON.stringify({ reason: record.reason }));
        };
        if (this.latencyMs > 0) setTimeout(send, this.latencyMs);
        else send();
        return;
      }
      try {
        const result = this.check(stream.session?.socket as TLSSocket | undefined, headers, method, path, body, size);
        push = result;
        apnsId = result.apnsId;
        record.status = 200;
        record.token = result.token;
        record.topic = result.topic;
      } catch (error) {
        if (!(error instanceof ApnsError)) throw error;
        record.status = error.status;
        record.reason = error.reason;
        record.detail = error.detail;
        const requested = header(headers, 'apns-id');
        if (requested && UUID.test(requested)) apnsId = requested.toLowerCase();
      }
      this.requests.push(record);
      const answer = (): void => {
        if (stream.destroyed || stream.closed) return;
        const out: OutgoingHttpHeaders = { [h2.HTTP2_HEADER_STATUS]: record.status, 'apns-id': apnsId };
        if (record.status === 200) {
          stream.respond(out, { endStream: true });
        } else {
          const payload: Record<string, string | number> = { reason: record.reason ?? 'InternalServerError' };
          if (record.status === 410) payload.timestamp = Date.now();
          out['content-type'] = 'application/json; charset=utf-8';
          stream.respond(out);
          stream.end(JSON.stringify(payload));
        }
        if (push) this.accepted(push);
      };
      if (this.latencyMs > 0) setTimeout(answer, this.latencyMs);
      else answer();
    });
  }

  private check(
    socket: TLSSocket | undefined,
    headers: IncomingHttpHeaders,
    method: string,
    path: string,
    body: Buffer,
    size: number,
  ): PushRecord {
    // 1. Client certificate.
    if (!socket || !socket.authorized)
      throw new ApnsError(
        403,
        'BadCertificate',
        `client certificate not trusted: ${socket?.authorizationError ?? 'no TLS socket'}`,
      );
    const peer = socket.getPeerCertificate(false);
    if (!peer || !peer.raw) throw new ApnsError(403, 'BadCertificate', 'no client certificate');
    // The same checks for every request; their outcome read once per distinct certificate (PKI.js
    // decodes a certificate in about a millisecond, which capped the peer well below node-apn's rate).
    const key = peer.raw.toString('base64');
    let read = this.certificateReads.get(key);
    if (!read) {
      try {
        read = { topic: readTopicFromCertificate(peer.raw), apns: hasApnsExtension(peer.raw) };
      } catch (error) {
        read = { error: `unreadable client certificate: ${(error as Error).message}` };
      }
      this.certificateReads.set(key, read);
    }
    if ('error' in read) throw new ApnsError(403, 'BadCertificate', read.error);
    if (!read.apns)
      throw new ApnsError(403, 'BadCertificate', 'not an APNs certificate (no 1.2.840.113635.100.6.3.1/.2 extension)');
    const certTopic = read.topic;
    if (!certTopic) throw new ApnsError(403, 'BadCertificate', 'client certificate without UID (topic)');
    if (this.options.expectedTopic !== undefined && certTopic !== this.options.expectedTopic) {
      throw new ApnsError(
        400,
        'TopicDisallowed',
        `certificate topic ${certTopic} is not ${this.options.expectedTopic}`,
      );
    }

    // 2. Injected faults.
    const fault = this.queuedFaults[0];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.queuedFaults.shift();
      throw new ApnsError(fault.status, FAULT_REASONS[fault.status], 'injected fault');
    }

    // 3. Method, path, token.
    if (method !== 'POST') throw new ApnsError(405, 'MethodNotAllowed', `${method} is not POST`);
    const m = path.match(/^\/3\/device\/([^/?]*)$/);
    if (!m) throw new ApnsError(404, 'BadPath', `${path} is not /3/device/<token>`);
    if (m[1] === '') throw new ApnsError(400, 'MissingDeviceToken');
    if (!/^[0-9a-fA-F]{64}$/.test(m[1]))
      throw new ApnsError(400, 'BadDeviceToken', 'the token must be 64 hexadecimal digits');
    const token = m[1].toLowerCase();

    // 4. Headers.
    const topic = header(headers, 'apns-topic');
    if (topic === undefined || topic === '') throw new ApnsError(400, 'MissingTopic');
    if (topic !== certTopic)
      throw new ApnsError(400, 'TopicDisallowed', `apns-topic ${topic} is not the certificate's topic ${certTopic}`);
    const pushType = header(headers, 'apns-push-type');
    if (pushType !== undefined && pushType !== 'mdm')
      throw new ApnsError(400, 'InvalidPushType', `apns-push-type ${pushType} (MDM pushes use mdm)`);
    const priorityText = header(headers, 'apns-priority');
    let priority: number | undefined;
    if (priorityText !== undefined) {
      priority = Number(priorityText);
      if (priority !== 5 && priority !== 10) throw new ApnsError(400, 'BadPriority');
    }
    const expirationText = header(headers, 'apns-expiration');
    let expiration: number | undefined;
    if (expirationText !== undefined) {
      if (!/^\d+$/.test(expirationText)) throw new ApnsError(400, 'BadExpirationDate');
      expiration = Number(expirationText);
    }
    const requestedId = header(headers, 'apns-id');
    if (requestedId !== undefined && !UUID.test(requestedId)) throw new ApnsError(400, 'BadMessageId');
    const collapseId = header(headers, 'apns-collapse-id');
    if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64) throw new ApnsError(400, 'BadCollapseId');

    // 5. Payload.
    if (size === 0) throw new ApnsError(400, 'PayloadEmpty');
    if (size > MAX_PAYLOAD) throw new ApnsError(413, 'PayloadTooLarge');
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApnsError(400, 'BadPayload', 'the body is not JSON');
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new ApnsError(400, 'BadPayload', 'the body is not a JSON object');
    const keys = Object.keys(payload);
    if (keys.includes('aps')) throw new ApnsError(400, 'BadPayload', 'an MDM push has no aps dictionary');
    const pushMagic = (payload as Record<string, unknown>).mdm;
    if (typeof pushMagic !== 'string' || pushMagic === '')
      throw new ApnsError(400, 'BadPayload', 'the body must be {"mdm":"<PushMagic>"}');
    if (keys.length !== 1)
      throw new ApnsError(400, 'BadPayload', `unexpected keys ${keys.filter((k) => k !== 'mdm').join(', ')}`);

    // 6. Device state.
    if (this.deadTokens.has(token)) throw new ApnsError(410, 'Unregistered', 'the token is in deadTokens');

    const apnsId: string = requestedId?.toLowerCase() ?? randomUUID();
    return { token, pushMagic, topic, at: new Date(), apnsId, priority, pushType, expiration };
  }

  /** A random fault for a request whose client certificate is trusted (an untrusted one gets its 403). */
  private randomFault(socket: TLSSocket | undefined): FaultKind | undefined {
    const { rate, kinds } = this.faults;
    if (!socket?.authorized || rate <= 0 || kinds.length === 0 || this.random() >= rate) return undefined;
    return kinds[Math.floor(this.random() * kinds.length) % kinds.length];
  }

  private accepted(push: PushRecord): void {
    this.pushes.push(push);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.pushes.length >= this.waiters[i].count) this.waiters.splice(i, 1)[0].resolve();
    }
    for (const listener of this.listeners) {
      setImmediate(() => {
        try {
          const result = listener(push.token, push.pushMagic, push);
          if (result instanceof Promise) result.catch((error: unknown) => this.listenerErrors.push(error));
        } catch (error) {
          this.listenerErrors.push(error);
        }
      });
    }
  }
}

/** Starts the fake on 127.0.0.1. */
export async function startFakeApns(options: FakeApnsOptions): Promise<FakeApns> {
  const server = createSecureServer({
    key: options.serverCert.keyPem,
    cert: options.serverCert.certPem,
    ca: [options.ca.certPem],
    requestCert: true,
    // The handshake succeeds without a trusted certificate so that the request can be answered
    // 403 BadCertificate (APNs answers in HTTP/2, too).
    rejectUnauthorized: false,
    allowHTTP1: false,
  });
  const fake = new FakeApns(server, options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return fake;
}
