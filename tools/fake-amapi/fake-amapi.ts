/**
 * A fake Google Android Management API (v1) for tests and demos.
 *
 * - HTTP on 127.0.0.1, same paths and verbs as the discovery document (usable as the googleapis
 *   `rootUrl`), `Authorization: Bearer <accessToken>` required (401 in Google's shape otherwise).
 * - Every request body and query string is validated against the real discovery document
 *   (tools/fake-amapi/discovery.ts); errors use Google's shape (400 INVALID_ARGUMENT with a
 *   google.rpc.BadRequest of field violations).
 * - Keeps state (enterprises, policies with versions, devices, enrollment tokens, web apps),
 *   simulates devices (enrollment, policy application, app removal, compliance reports), pushes
 *   Pub/Sub notifications with a verifiable OIDC token, and injects faults (429/500/503, timeouts,
 *   dropped connections, latency).
 *
 * Only node built-ins at run time (the googleapis import is for types only). CommonJS-compatible.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { androidmanagement_v1 } from 'googleapis/build/src/apis/androidmanagement/v1';
import {
  DiscoveryModel,
  DiscoveryParameter,
  FieldViolation,
  isJsonObject,
  Json,
  JsonObject,
  loadDiscovery,
  mustRulesOf,
  PROTO_PACKAGE,
} from './discovery';
import { NotificationType, PubsubOptions, PubsubPusher, PushRecord } from './pubsub';

export type Policy = androidmanagement_v1.Schema$Policy;
export type Device = androidmanagement_v1.Schema$Device;
export type EnrollmentToken = androidmanagement_v1.Schema$EnrollmentToken;
export type Enterprise = androidmanagement_v1.Schema$Enterprise;
export type WebApp = androidmanagement_v1.Schema$WebApp;
export type Operation = androidmanagement_v1.Schema$Operation;
export type Command = androidmanagement_v1.Schema$Command;
export type { FieldViolation, Json, JsonObject } from './discovery';
export type { NotificationType, PubsubOptions, PushRecord } from './pubsub';

/** A stored policy always has its full name and its version (int64, a string of digits in JSON). */
export type StoredPolicy = Policy & { name: string; version: string };

/**
 * `timeout`: never answered, nothing done. `drop`: the connection is destroyed before anything is
 * done. `drop-after`: the request is carried out, then the connection is destroyed before the
 * answer, so the client cannot know that it succeeded (its retry is a duplicate).
 */
export type FaultKind = '429' | '500' | '503' | 'timeout' | 'drop' | 'drop-after';

export interface FaultConfig {
  /** Probability (0..1) that a /v1 request gets a fault drawn from `kinds`. */
  rate: number;
  kinds: FaultKind[];
  /** `Retry-After` of 429 answers, in seconds (default 1); null sends none, as Google often does. */
  retryAfterSeconds?: number | null;
  /** Added to every /v1 request before it is answered. */
  latencyMs?: number;
}

export interface FakeAmapiOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 'fake-amapi-token'. */
  accessToken?: string;
  /** Default: ../shared/reference/android/androidmanagement-v1.json from the repo root, then /work/shared/…. */
  discoveryPath?: string;
  pubsub?: PubsubOptions;
  /**
   * Enterprises that exist from the start (names `enterprises/X` or resources). Unless given, each
   * gets `pubsubTopic` projects/fake-project/topics/amapi and ENROLLMENT + STATUS_REPORT notifications.
   */
  enterprises?: (string | Enterprise)[];
  /** Project of pre-created enterprises, and default of signup/enterprise creation (default 'fake-project'). */
  projectId?: string;
  /** After policies.patch / devices.patch / enrollment, affected devices apply their policy by themselves. */
  autoApply?: boolean;
  /** Delay before an automatic apply (default 50 ms); changes within the delay are applied together. */
  autoApplyDelayMs?: number;
  faults?: Partial<FaultConfig>;
  /** Random source of fault injection (default Math.random), for reproducible chaos runs. */
  random?: () => number;
  /**
   * Like Google, report `applicationReports` only when the device's policy has
   * `statusReportingSettings.applicationReportsEnabled` (default false: always reported).
   */
  applicationReportsNeedPolicySetting?: boolean;
  /** Check every answer of the fake against the response schema (default true): a bug of the fake answers 500. */
  validateResponses?: boolean;
}

export interface EnrollOptions {
  /** `value` of an enrollment token (not its name). */
  enrollmentTokenValue: string;
  /** Default: 16 random hex digits. */
  deviceId?: string;
  /** Default COMPANY_OWNED (DEVICE_OWNER); PERSONALLY_OWNED gives PROFILE_OWNER (work profile). */
  ownership?: 'COMPANY_OWNED' | 'PERSONALLY_OWNED';
  /** Default 'Pixel 8'. */
  model?: string;
  /** Packages present on the device (or in its work profile) at enrollment. */
  installedApps?: string[];
  /** Installed packages the device cannot remove (system apps): a BLOCKED one stays and is reported APP_INSTALLED. */
  unremovableApps?: string[];
  /** Packages that fail to install (Play says NOT_FOUND): reported APP_NOT_INSTALLED when the policy installs them. */
  uninstallableApps?: string[];
  /** Default 34. */
  apiLevel?: number;
}

export interface ApplyOptions {
  /** Default: every device. */
  deviceNames?: string[];
}

export interface LoggedRequest {
  method: string;
  /** URL path, e.g. `/v1/enterprises/E/policies/P`. */
  path: string;
  query: Record<string, string | string[]>;
  /** Parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: Json | undefined;
  /** HTTP status answered; 0 for a 'timeout' or 'drop' fault (no answer). */
  status: number;
  fault?: FaultKind;
  at: string;
}

export interface FakeAmapiState {
  enterprises: Map<string, Enterprise>;
  policies: Map<string, StoredPolicy>;
  devices: Map<string, Device>;
  enrollmentTokens: Map<string, EnrollmentToken>;
  webApps: Map<string, WebApp>;
  /** Operations of issued commands, by name (`enterprises/E/devices/D/operations/O`). */
  operations: Map<string, Operation>;
  /** Devices deleted through devices.delete, with the wipe flags and message they were deleted with. */
  deletions: DeviceDeletion[];
}

export interface DeviceDeletion {
  device: Device;
  wipeDataFlags: string[];
  wipeReasonMessage?: string;
  at: string;
}

export interface FakeAmapi {
  /** e.g. `http://127.0.0.1:43817/`: the googleapis `rootUrl`. */
  readonly url: string;
  readonly port: number;
  readonly accessToken: string;
  /** JWKS of the key that signs Pub/Sub push tokens: `${url}_fake/pubsub/certs`. */
  readonly pubsubJwksUrl: string;
  /** The `email` claim of push tokens. */
  readonly pubsubServiceAccountEmail: string;
  /** Mutable: set `pushEndpoint` / `audience` at any time. */
  readonly pubsub: PubsubOptions;
  readonly discovery: DiscoveryModel;
  readonly state: FakeAmapiState;
  readonly requests: LoggedRequest[];
  /** Every notification published, with its delivery outcome. */
  readonly pushes: PushRecord[];
  /** Mutable fault configuration (rate 0 = none). */
  faults: FaultConfig;
  autoApply: boolean;
  autoApplyDelayMs: number;
  resetLog(): void;
  /** The next `n` /v1 requests get `kind`, before any random fault. */
  failNext(n: number, kind: FaultKind): void;
  /** Creates an enterprise directly (no API call). */
  createEnterprise(nameOrEnterprise: string | Enterprise): Enterprise;
  enroll(opts: EnrollOptions): Promise<Device>;
  applyPolicies(opts?: ApplyOptions): Promise<Device[]>;
  setInstalledApps(deviceName: string, packages: string[]): Device;
  /** Removes a device without any API call nor notification (a wipe or factory reset Google saw, the service did not). */
  deleteDeviceOnGoogleSide(name: string): boolean;
  /** Resolves when pending automatic applies and Pub/Sub deliveries are done. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Policy ids the fake accepts (Google does not publish the rule; this is conservative). */
export const POLICY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
export const MAX_APPLICATIONS_PER_POLICY = 3000;
export const MAX_MINIMUM_VERSION_CODE_APPS = 20;
export const MAX_ENROLLMENT_TOKEN_DATA_LENGTH = 1024;
export const MAX_ENTERPRISE_DISPLAY_NAME_LENGTH = 100;
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;
const DEVICE_PATCHABLE_FIELDS = ['policyName', 'state', 'disabledReason'];
const INSTALLING_TYPES = ['PREINSTALLED', 'FORCE_INSTALLED', 'REQUIRED_FOR_SETUP', 'KIOSK'];
const CLOUD_DPC = 'com.google.android.apps.work.clouddpc';
const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** AMAPI names web apps `enterprises/E/webApps/<package>`; policies refer to them by that package. */
const WEB_APP_PACKAGE_PREFIX = 'com.google.enterprise.webapp.';
/** WebAppIcon: "Supported formats are: png, jpg and webp." */
const IMAGE_SIGNATURES: { format: string; test: (b: Buffer) => boolean }[] = [
  {
    format: 'png',
    test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  { format: 'jpg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    format: 'webp',
    test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
];
/** Command types and the parameter message that implies each ("the server automatically sets it"). */
const COMMAND_PARAMS: Record<string, string> = {
  clearAppsDataParams: 'CLEAR_APP_DATA',
  startLostModeParams: 'START_LOST_MODE',
  stopLostModeParams: 'STOP_LOST_MODE',
  addEsimParams: 'ADD_ESIM',
  removeEsimParams: 'REMOVE_ESIM',
  requestDeviceInfoParams: 'REQUEST_DEVICE_INFO',
  wipeParams: 'WIPE',
};
const DEFAULT_COMMAND_DURATION = '600s';

/** An error answered in Google's shape: `{ error: { code, message, status, details? } }`. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
    readonly details: JsonObject[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): JsonObject {
    const error: JsonObject = { code: this.code, message: this.message, status: this.status };
    if (this.details.length) error.details = this.details;
    return { error };
  }

  static badRequest(violations: FieldViolation[]): ApiError {
    const fieldViolations: Json[] = violations.map((v): Json =>
      v.field ? { field: v.field, description: v.description } : { description: v.description },
    );
    return new ApiError(400, 'INVALID_ARGUMENT', violations.map((v) => v.description).join('\n'), [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations },
    ]);
  }

  static notFound(message = 'Requested entity was not found.'): ApiError {
    return new ApiError(404, 'NOT_FOUND', message);
  }
}

interface Call {
  params: Record<string, string>;
  query: Map<string, Json>;
  body: JsonObject;
}

type Handler = (call: Call) => Json | Promise<Json>;

interface DeviceSim {
  /** package → version code */
  installed: Map<string, number>;
  removed: Set<string>;
  unremovable: Set<string>;
  uninstallable: Set<string>;
}

interface SignupRecord {
  callbackUrl?: string;
  projectId: string;
  enterpriseToken: string;
}

// --- JSON helpers -------------------------------------------------------------------------------

function json(value: object): JsonObject {
  return value as unknown as JsonObject;
}

function typed<T>(value: JsonObject): T {
  return value as unknown as T;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function getPath(obj: JsonObject, path: string[]): Json | undefined {
  let current: Json | undefined = obj;
  for (const key of path) {
    if (!isJsonObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

function setPath(obj: JsonObject, path: string[], value: Json | undefined): void {
  let current = obj;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (!isJsonObject(next)) {
      if (value === undefined) return;
      current[key] = {};
    }
    current = current[key] as JsonObject;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete current[last];
  else current[last] = clone(value);
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function randomLetters(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(65 + randomInt(26));
  return out;
}

function nowIso(): string {
  return new Date().toISOString();
}

function enterpriseOf(name: string): string {
  return name.split('/').slice(0, 2).join('/');
}

/** Google's wording: "Invalid JSON payload received. <reason>\n<line>\n<caret>". */
function malformedJsonMessage(raw: string, error: unknown): string {
  const message = error instanceof Error ? error.message : 'Unexpected token';
  const position = Number(/position (\d+)/.exec(message)?.[1] ?? raw.length);
  const reason = message
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/^Unexpected end of JSON input$/, 'Unexpected end of string');
  const start = Math.max(0, position - 20);
  const context = raw.slice(start, position + 20).replace(/\s/g, ' ');
  return `Invalid JSON payload received. ${reason}.\n${context}\n${' '.repeat(position - start)}^`;
}

function durationSeconds(duration: string): number {
  return Number(duration.slice(0, -1));
}

// --- the server ---------------------------------------------------------------------------------

class FakeAmapiServer implements FakeAmapi {
  url = '';
  port = 0;
  pubsubJwksUrl = '';
  readonly accessToken: string;
  readonly discovery: DiscoveryModel;
  readonly state: FakeAmapiState = {
    enterprises: new Map(),
    policies: new Map(),
    devices: new Map(),
    enrollmentTokens: new Map(),
    webApps: new Map(),
    operations: new Map(),
    deletions: [],
  };
  readonly requests: LoggedRequest[] = [];
  readonly pubsub: PubsubOptions;
  faults: FaultConfig;
  autoApply: boolean;
  autoApplyDelayMs: number;

  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pusher: PubsubPusher;
  private readonly sims = new Map<string, DeviceSim>();
  private readonly signups = new Map<string, SignupRecord>();
  private readonly enterpriseProjects = new Map<string, string>();
  private readonly failQueue: FaultKind[] = [];
  private readonly random: () => number;
  private readonly projectId: string;
  private readonly reportsNeedSetting: boolean;
  private readonly validateResponses: boolean;
  private readonly handlers: Record<string, Handler>;
  private readonly pendingApply = new Set<string>();
  private applyTimer: NodeJS.Timeout | undefined;
  private releaseApply: () => void = () => undefined;
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly options: FakeAmapiOptions) {
    this.accessToken = options.accessToken ?? 'fake-amapi-token';
    this.discovery = loadDiscovery(options.discoveryPath);
    this.pubsub = { ...options.pubsub };
    this.pusher = new PubsubPusher(this.pubsub);
    this.faults = { rate: 0, kinds: ['503'], ...options.faults };
    this.autoApply = options.autoApply ?? false;
    this.autoApplyDelayMs = options.autoApplyDelayMs ?? 50;
    this.random = options.random ?? Math.random;
    this.projectId = options.projectId ?? 'fake-project';
    this.reportsNeedSetting = options.applicationReportsNeedPolicySetting ?? false;
    this.validateResponses = options.validateResponses ?? true;
    this.handlers = this.buildHandlers();
    for (const enterprise of options.enterprises ?? []) this.createEnterprise(enterprise);
    this.server = createServer((req, res) => {
      const task = this.onRequest(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          const message = error instanceof Error ? error.message : String(error);
          this.send(res, 500, new ApiError(500, 'INTERNAL', `fake-amapi: ${message}`).body());
        }
      });
      this.track(task);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get pushes(): PushRecord[] {
    return this.pusher.records;
  }

  get pubsubServiceAccountEmail(): string {
    return this.pusher.serviceAccountEmail;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('fake-amapi: no TCP address');
    this.port = address.port;
    this.url = `http://127.0.0.1:${this.port}/`;
    this.pubsubJwksUrl = `${this.url}_fake/pubsub/certs`;
  }

  private track(task: Promise<unknown>): void {
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  failNext(n: number, kind: FaultKind): void {
    for (let i = 0; i < n; i++) this.failQueue.push(kind);
  }

  createEnterprise(nameOrEnterprise: string | Enterprise): Enterprise {
    const given: Enterprise =
      typeof nameOrEnterprise === 'string' ? { name: nameOrEnterprise } : clone(nameOrEnterprise);
    const name = given.name ?? `enterprises/LC0${randomHex(4).slice(0, 7)}`;
    if (!/^enterprises\/[^/]+$/.test(name)) throw new Error(`fake-amapi: bad enterprise name ${name}`);
    const enterprise: Enterprise = {
      pubsubTopic: `projects/${this.projectId}/topics/amapi`,
      enabledNotificationTypes: ['ENROLLMENT', 'STATUS_REPORT'],
      enterpriseDisplayName: name.split('/')[1],
      ...given,
      name,
    };
    // `{ pubsubTopic: undefined }` makes an enterprise without a topic (no notification at all).
    for (const key of Object.keys(enterprise) as (keyof Enterprise)[])
      if (enterprise[key] === undefined) delete enterprise[key];
    this.state.enterprises.set(name, enterprise);
    this.enterpriseProjects.set(name, this.projectId);
    return clone(enterprise);
  }

  // --- HTTP -------------------------------------------------------------------------------------

  private send(
    res: ServerResponse,
    status: number,
    body: Json | undefined,
    headers: Record<string, string> = {},
    pretty = true,
  ): void {
    if (res.headersSent || res.destroyed) return;
    const text = body === undefined ? '' : JSON.stringify(body, null, pretty ? 2 : undefined);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }

  private pickFault(): FaultKind | undefined {
    const queued = this.failQueue.shift();
    if (queued) return queued;
    const { rate, kinds } = this.faults;
    if (rate > 0 && kinds.length > 0 && this.random() < rate)
      return kinds[Math.floor(this.random() * kinds.length) % kinds.length];
    return undefined;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await this.readBody(req);
    if (url.pathname.startsWith('/_fake/')) return this.control(method, url, raw, res);

    const query = new Map<string, string[]>();
    const loggedQuery: Record<string, string | string[]> = {};
    for (const [key, value] of url.searchParams) query.set(key, [...(query.get(key) ?? []), value]);
    for (const [key, values] of query) loggedQuery[key] = values.length === 1 ? values[0] : values;
    let loggedBody: Json | undefined;
    if (raw.trim() !== '') {
      try {
        loggedBody = JSON.parse(raw) as Json;
      } catch {
        loggedBody = raw;
      }
    }
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: loggedQuery,
      body: loggedBody,
      status: 0,
      at: nowIso(),
    };
    this.requests.push(entry);

    const fault = this.pickFault();
    if (this.faults.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.faults.latencyMs));
    if (fault && fault !== 'drop-after') {
      entry.fault = fault;
      switch (fault) {
        case 'drop':
          req.socket.destroy();
          return;
        case 'timeout':
          return; // never answered; stop() destroys the socket
        case '429': {
          const retryAfter = this.faults.retryAfterSeconds;
          const error = new ApiError(
            429,
            'RESOURCE_EXHAUSTED',
            `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'androidmanagement.googleapis.com' for consumer 'project_number:${this.projectId}'.`,
            [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'RATE_LIMIT_EXCEEDED',
                domain: 'googleapis.com',
                metadata: {
                  service: 'androidmanagement.googleapis.com',
                  quota_metric: 'androidmanagement.googleapis.com/queries',
                },
              },
            ],
          );
          entry.status = 429;
          this.send(res, 429, error.body(), retryAfter === null ? {} : { 'retry-after': String(retryAfter ?? 1) });
          return;
        }
        case '500':
          entry.status = 500;
          this.send(res, 500, new ApiError(500, 'INTERNAL', 'Internal error encountered.').body());
          return;
        case '503':
          entry.status = 503;
          this.send(res, 503, new ApiError(503, 'UNAVAILABLE', 'The service is currently unavailable.').body());
          return;
      }
    }

    const pretty = query.get('prettyPrint')?.[0] !== 'false';
    try {
      const body = await this.call(method, url.pathname, query, raw, req.headers.authorization);
      entry.status = 200;
      if (fault === 'drop-after') {
        entry.fault = fault;
        req.socket.destroy();
        return;
      }
      this.send(res, 200, body, {}, pretty);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, 'INTERNAL', `fake-amapi: ${error instanceof Error ? error.message : String(error)}`);
      entry.status = apiError.code;
      this.send(res, apiError.code, apiError.body(), apiError.headers, pretty);
    }
  }

  private authenticate(authorization: string | undefined, query: Map<string, string[]>): void {
    const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
    const token = bearer ?? query.get('access_token')?.[0] ?? query.get('oauth_token')?.[0];
    const challenge = { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' };
    const see =
      'Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
    if (!token) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        `Request is missing required authentication credential. ${see}`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'CREDENTIALS_MISSING',
            domain: 'googleapis.com',
            metadata: { service: 'androidmanagement.googleapis.com' },
          },
        ],
        challenge,
      );
    }
    if (token !== this.accessToken) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        `Request had invalid authentication credentials. ${see}`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
            domain: 'googleapis.com',
            metadata: { service: 'androidmanagement.googleapis.com' },
          },
        ],
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
  }

  private async call(
    method: string,
    pathname: string,
    query: Map<string, string[]>,
    raw: string,
    authorization: string | undefined,
  ): Promise<Json> {
    this.authenticate(authorization, query);
    const match = this.discovery.match(method, pathname);
    if (match.kind !== 'ok')
      throw ApiError.notFound(
        match.kind === 'wrong-verb'
          ? `Method ${method} is not allowed on ${pathname}.`
          : `The requested URL ${pathname} was not found on this server.`,
      );
    const { route, params } = match;
    const q = this.discovery.validateQuery(route.method, query);
    if (q.violations.length) throw ApiError.badRequest(q.violations);

    let body: JsonObject = {};
    if (route.method.request) {
      let parsed: unknown = {};
      if (raw.trim() !== '') {
        try {
          parsed = JSON.parse(raw);
        } catch (error) {
          throw ApiError.badRequest([{ description: malformedJsonMessage(raw, error) }]);
        }
      }
      const schema = route.method.request.$ref;
      const result = this.discovery.validateBody(schema, parsed, DiscoveryModel.bodyRoot(schema), {
        stripOutputOnly: true,
        enforceRequired: true,
      });
      if (result.violations.length) throw ApiError.badRequest(result.violations);
      body = result.value;
    }

    const handler = this.handlers[route.method.id];
    if (!handler)
      throw new ApiError(
        501,
        'UNIMPLEMENTED',
        `Method ${route.method.id} is not implemented by fake-amapi (the request was valid).`,
      );
    const result = await handler({ params, query: q.values, body });
    if (this.validateResponses && route.method.response) {
      const check = this.discovery.validateBody(route.method.response.$ref, result, '', {
        stripOutputOnly: false,
        enforceRequired: false,
      });
      if (check.violations.length) {
        throw new ApiError(
          500,
          'INTERNAL',
          `fake-amapi bug: its ${route.method.response.$ref} answer does not match the discovery document: ${check.violations.map((v) => v.description).join('; ')}`,
        );
      }
    }
    return result;
  }

  // --- /_fake control endpoints (no auth, no faults) ---------------------------------------------

  private async control(method: string, url: URL, raw: string, res: ServerResponse): Promise<void> {
    const route = `${method} ${url.pathname}`;
    let input: JsonObject = {};
    try {
      const parsed: unknown = raw.trim() ? JSON.parse(raw) : {};
      if (isJsonObject(parsed)) input = parsed;
    } catch {
      this.send(res, 400, { error: 'malformed JSON' });
      return;
    }
    try {
      switch (route) {
        case 'GET /_fake/pubsub/certs':
          this.send(res, 200, this.pusher.jwks(), { 'cache-control': 'public, max-age=60' });
          return;
        case 'GET /_fake/signup': {
          const signup = this.signups.get(url.searchParams.get('signupUrlName') ?? '');
          if (!signup?.callbackUrl) {
            this.send(res, 404, { error: 'unknown signup URL or no callbackUrl' });
            return;
          }
          const target = new URL(signup.callbackUrl);
          target.searchParams.set('enterpriseToken', signup.enterpriseToken);
          res.writeHead(302, { location: target.toString() });
          res.end();
          return;
        }
        case 'GET /_fake/state':
          this.send(
            res,
            200,
            json({
              enterprises: [...this.state.enterprises.values()],
              policies: [...this.state.policies.values()],
              devices: [...this.state.devices.values()],
              enrollmentTokens: [...this.state.enrollmentTokens.values()],
              webApps: [...this.state.webApps.values()],
              operations: [...this.state.operations.values()],
              deletions: this.state.deletions,
            }),
          );
          return;
        case 'GET /_fake/requests':
          this.send(res, 200, json({ requests: this.requests }));
          return;
        case 'DELETE /_fake/requests':
          this.resetLog();
          this.send(res, 200, {});
          return;
        case 'GET /_fake/pushes':
          this.send(res, 200, json({ pushes: this.pushes }));
          return;
        case 'POST /_fake/enroll':
          this.send(res, 200, json(await this.enroll(typed<EnrollOptions>(input))));
          return;
        case 'POST /_fake/applyPolicies':
          this.send(res, 200, json({ devices: await this.applyPolicies(typed<ApplyOptions>(input)) }));
          return;
        case 'POST /_fake/setInstalledApps': {
          const packages = Array.isArray(input.packages)
            ? input.packages.filter((p): p is string => typeof p === 'string')
            : [];
          this.send(res, 200, json(this.setInstalledApps(str(input.deviceName) ?? '', packages)));
          return;
        }
        case 'POST /_fake/deleteDevice':
          this.send(res, 200, { deleted: this.deleteDeviceOnGoogleSide(str(input.name) ?? '') });
          return;
        case 'POST /_fake/faults': {
          const { failNext, ...rest } = input;
          this.faults = { ...this.faults, ...typed<Partial<FaultConfig>>(rest) };
          if (isJsonObject(failNext) && typeof failNext.n === 'number' && typeof failNext.kind === 'string')
            this.failNext(failNext.n, failNext.kind as FaultKind);
          this.send(res, 200, json(this.faults));
          return;
        }
        default:
          this.send(res, 404, { error: `no control endpoint ${route}` });
      }
    } catch (error) {
      this.send(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  // --- lookups and helpers ----------------------------------------------------------------------

  private enterprise(name: string): Enterprise {
    const enterprise = this.state.enterprises.get(name);
    if (!enterprise) throw ApiError.notFound();
    return enterprise;
  }

  private page<T>(items: T[], query: Map<string, Json>): { items: T[]; nextPageToken?: string } {
    const requested = query.get('pageSize');
    const size = typeof requested === 'number' ? requested : 0;
    if (size < 0) throw ApiError.badRequest([{ field: 'page_size', description: 'page_size must not be negative.' }]);
    const pageSize = size === 0 ? DEFAULT_PAGE_SIZE : Math.min(size, MAX_PAGE_SIZE);
    const token = str(query.get('pageToken') ?? undefined);
    let offset = 0;
    if (token) {
      const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!m) throw ApiError.badRequest([{ field: 'page_token', description: 'Invalid page token.' }]);
      offset = Number(m[1]);
    }
    const slice = items.slice(offset, offset + pageSize);
    const next =
      offset + pageSize < items.length ? Buffer.from(`o:${offset + pageSize}`).toString('base64url') : undefined;
    return next ? { items: slice, nextPageToken: next } : { items: slice };
  }

  private list(key: string, all: JsonObject[], query: Map<string, Json>): JsonObject {
    const { items, nextPageToken } = this.page(all, query);
    return nextPageToken ? { [key]: items, nextPageToken } : { [key]: items };
  }

  /** Parses `updateMask` against a schema; undefined when absent (= every modifiable field). */
  private updateMask(query: Map<string, Json>, schema: string): string[][] | undefined {
    const mask = str(query.get('updateMask') ?? undefined);
    if (mask === undefined || mask.trim() === '') return undefined;
    const violations: FieldViolation[] = [];
    const paths: string[][] = [];
    for (const path of mask
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const resolved = this.discovery.resolveFieldPath(schema, path);
      if (resolved === null)
        violations.push({
          field: 'update_mask',
          description: `Invalid update_mask: field path ${JSON.stringify(path)} does not exist in ${schema}.`,
        });
      else paths.push(resolved.split('.'));
    }
    if (violations.length) throw ApiError.badRequest(violations);
    return paths;
  }

  private policyNameFor(enterpriseName: string, value: string): string {
    const full = value.includes('/') ? value : `${enterpriseName}/policies/${value}`;
    const m = /^(enterprises\/[^/]+)\/policies\/([^/]+)$/.exec(full);
    if (!m || m[1] !== enterpriseName) {
      throw ApiError.badRequest([
        {
          field: 'policy_name',
          description: `Invalid policy name ${JSON.stringify(value)}: expected ${enterpriseName}/policies/{policyId} or a policy id.`,
        },
      ]);
    }
    return full;
  }

  private checkPolicy(policy: JsonObject, root: string, enterpriseName: string): void {
    const violations: FieldViolation[] = this.discovery.checkMust('Policy', policy, root);
    const apps = Array.isArray(policy.applications) ? policy.applications.filter(isJsonObject) : [];
    if (apps.length > MAX_APPLICATIONS_PER_POLICY) {
      violations.push({
        field: `${root}.applications`,
        description: `A policy can have at most ${MAX_APPLICATIONS_PER_POLICY} applications (got ${apps.length}).`,
      });
    }
    const seen = new Map<string, number>();
    let minimumVersionCodes = 0;
    let kiosks = 0;
    apps.forEach((app, i) => {
      const pkg = str(app.packageName);
      if (!pkg)
        violations.push({
          field: `${root}.applications[${i}].package_name`,
          description: `Package name is required at '${root}.applications[${i}]'.`,
        });
      else if (seen.has(pkg))
        violations.push({
          field: `${root}.applications[${i}].package_name`,
          description: `Duplicate package name ${JSON.stringify(pkg)} in applications[${seen.get(pkg)}] and applications[${i}].`,
        });
      else seen.set(pkg, i);
      // A web app is referred to by the package its creation gave it: it must exist in this enterprise.
      if (pkg?.startsWith(WEB_APP_PACKAGE_PREFIX) && !this.state.webApps.has(`${enterpriseName}/webApps/${pkg}`))
        violations.push({
          field: `${root}.applications[${i}].package_name`,
          description: `Web app ${enterpriseName}/webApps/${pkg} not found: create it with webApps.create first.`,
        });
      if (app.minimumVersionCode !== undefined) minimumVersionCodes += 1;
      if (app.installType === 'KIOSK') kiosks += 1;
    });
    if (minimumVersionCodes > MAX_MINIMUM_VERSION_CODE_APPS) {
      violations.push({
        field: `${root}.applications`,
        description: `At most ${MAX_MINIMUM_VERSION_CODE_APPS} apps may specify a minimum version code per policy (got ${minimumVersionCodes}).`,
      });
    }
    if (kiosks > 1)
      violations.push({
        field: `${root}.applications`,
        description: `Only one app per policy can have installType KIOSK (got ${kiosks}).`,
      });
    // PolicyEnforcementRule: blockAction and wipeAction go together, "blockAfterDays must be less than wipeAfterDays".
    const rules = Array.isArray(policy.policyEnforcementRules)
      ? policy.policyEnforcementRules.filter(isJsonObject)
      : [];
    rules.forEach((rule, i) => {
      const block = isJsonObject(rule.blockAction) ? rule.blockAction : undefined;
      const wipe = isJsonObject(rule.wipeAction) ? rule.wipeAction : undefined;
      const field = `${root}.policy_enforcement_rules[${i}]`;
      if (Boolean(block) !== Boolean(wipe))
        violations.push({ field, description: 'blockAction and wipeAction must both be specified.' });
      else if (block && wipe && Number(block.blockAfterDays ?? 0) >= Number(wipe.wipeAfterDays ?? 0))
        violations.push({ field, description: 'blockAfterDays must be less than wipeAfterDays.' });
    });
    if (violations.length) throw ApiError.badRequest(violations);
  }

  private checkEnterprise(enterprise: JsonObject): void {
    const violations: FieldViolation[] = [];
    const displayName = str(enterprise.enterpriseDisplayName);
    if (displayName && displayName.length > MAX_ENTERPRISE_DISPLAY_NAME_LENGTH) {
      violations.push({
        field: 'enterprise.enterprise_display_name',
        description: `enterpriseDisplayName has a maximum length of ${MAX_ENTERPRISE_DISPLAY_NAME_LENGTH} characters.`,
      });
    }
    const topic = str(enterprise.pubsubTopic);
    if (topic && !/^projects\/[^/]+\/topics\/[^/]+$/.test(topic)) {
      violations.push({
        field: 'enterprise.pubsub_topic',
        description: `pubsubTopic must be of the form projects/{project}/topics/{topic}, got ${JSON.stringify(topic)}.`,
      });
    }
    // "This field is only required if Pub/Sub notifications are enabled."
    const types = Array.isArray(enterprise.enabledNotificationTypes) ? enterprise.enabledNotificationTypes : [];
    if (!topic && types.length > 0)
      violations.push({
        field: 'enterprise.pubsub_topic',
        description: 'pubsubTopic is required when enabledNotificationTypes is set (Pub/Sub notifications enabled).',
      });
    if (violations.length) throw ApiError.badRequest(violations);
  }

  private storePolicy(name: string, content: JsonObject, previous: StoredPolicy | undefined): StoredPolicy {
    const version = previous ? (BigInt(previous.version) + 1n).toString() : '1';
    const stored = typed<StoredPolicy>({ name, version, ...content });
    this.state.policies.set(name, stored);
    this.scheduleApply([...this.state.devices.values()].filter((d) => d.policyName === name).map((d) => d.name ?? ''));
    return stored;
  }

  private sim(deviceName: string): DeviceSim {
    let sim = this.sims.get(deviceName);
    if (!sim) {
      sim = { installed: new Map(), removed: new Set(), unremovable: new Set(), uninstallable: new Set() };
      this.sims.set(deviceName, sim);
    }
    return sim;
  }

  private applicationReports(sim: DeviceSim): androidmanagement_v1.Schema$ApplicationReport[] {
    const reports: androidmanagement_v1.Schema$ApplicationReport[] = [];
    for (const [packageName, versionCode] of sim.installed) {
      const system = sim.unremovable.has(packageName);
      reports.push({
        packageName,
        displayName: packageName,
        state: 'INSTALLED',
        versionCode,
        versionName: `${versionCode}.0`,
        applicationSource: system ? 'SYSTEM_APP_FACTORY_VERSION' : 'INSTALLED_FROM_PLAY_STORE',
        installerPackageName: system ? undefined : 'com.android.vending',
        userFacingType: 'USER_FACING',
      });
    }
    for (const packageName of sim.removed) {
      if (!sim.installed.has(packageName))
        reports.push({
          packageName,
          displayName: packageName,
          state: 'REMOVED',
          applicationSource: 'INSTALLED_FROM_PLAY_STORE',
        });
    }
    return reports.map((r) =>
      typed<androidmanagement_v1.Schema$ApplicationReport>(JSON.parse(JSON.stringify(r)) as JsonObject),
    );
  }

  private notify(device: Device, type: NotificationType): Promise<PushRecord> | undefined {
    return this.notifyEnterprise(enterpriseOf(device.name ?? ''), json(device), type);
  }

  /** Like Google: published only when the enterprise has a topic and the type is enabled. */
  private notifyEnterprise(
    enterpriseName: string,
    data: JsonObject,
    type: NotificationType,
  ): Promise<PushRecord> | undefined {
    const enterprise = this.state.enterprises.get(enterpriseName);
    if (!enterprise?.pubsubTopic || !(enterprise.enabledNotificationTypes ?? []).includes(type)) return undefined;
    return this.pusher.publish(type, data);
  }

  private scheduleApply(deviceNames: string[]): void {
    if (!this.autoApply || this.stopped) return;
    for (const name of deviceNames) if (name) this.pendingApply.add(name);
    if (this.pendingApply.size === 0 || this.applyTimer) return;
    this.track(new Promise<void>((resolve) => (this.releaseApply = resolve)));
    this.applyTimer = setTimeout(() => {
      this.applyTimer = undefined;
      const names = [...this.pendingApply];
      this.pendingApply.clear();
      this.track(this.applyPolicies({ deviceNames: names }).catch(() => undefined));
      this.releaseApply();
    }, this.autoApplyDelayMs);
  }

  // --- device simulation ------------------------------------------------------------------------

  async enroll(opts: EnrollOptions): Promise<Device> {
    const token = [...this.state.enrollmentTokens.values()].find((t) => t.value === opts.enrollmentTokenValue);
    if (!token?.name) throw new Error(`fake-amapi: no enrollment token with value ${opts.enrollmentTokenValue}`);
    if (token.expirationTimestamp && Date.parse(token.expirationTimestamp) < Date.now())
      throw new Error(`fake-amapi: enrollment token ${token.name} has expired`);
    const ownership = opts.ownership ?? 'COMPANY_OWNED';
    // "Personal usage cannot be disabled on personally-owned device": such a token cannot enroll one.
    const disallowed = ['PERSONAL_USAGE_DISALLOWED', 'PERSONAL_USAGE_DISALLOWED_USERLESS'];
    if (ownership === 'PERSONALLY_OWNED' && disallowed.includes(token.allowPersonalUsage ?? '')) {
      throw new Error(
        `fake-amapi: enrollment token ${token.name} disallows personal usage: a personally-owned device cannot enroll with it`,
      );
    }
    const enterpriseName = enterpriseOf(token.name);
    const name = `${enterpriseName}/devices/${opts.deviceId ?? randomHex(8)}`;
    if (this.state.devices.has(name)) throw new Error(`fake-amapi: device ${name} already exists`);
    const sim = this.sim(name);
    sim.installed.clear();
    sim.removed.clear();
    for (const pkg of opts.installedApps ?? []) sim.installed.set(pkg, 1);
    for (const pkg of opts.unremovableApps ?? []) {
      sim.unremovable.add(pkg);
      if (!sim.installed.has(pkg)) sim.installed.set(pkg, 1);
    }
    for (const pkg of opts.uninstallableApps ?? []) sim.uninstallable.add(pkg);
    const now = nowIso();
    const device: Device = {
      name,
      managementMode: ownership === 'COMPANY_OWNED' ? 'DEVICE_OWNER' : 'PROFILE_OWNER',
      ownership,
      state: 'ACTIVE',
      appliedState: 'PROVISIONING',
      policyName: token.policyName ?? `${enterpriseName}/policies/default`,
      enrollmentTime: now,
      lastStatusReportTime: now,
      enrollmentTokenName: token.name,
      apiLevel: opts.apiLevel ?? 34,
      hardwareInfo: {
        brand: 'google',
        hardware: 'fake',
        manufacturer: 'Google',
        model: opts.model ?? 'Pixel 8',
        serialNumber: randomLetters(2) + randomHex(5).toUpperCase(),
      },
      softwareInfo: {
        androidVersion: '14',
        androidDevicePolicyVersionName: '2.x-fake',
        securityPatchLevel: '2026-04-05',
      },
      applicationReports: this.applicationReports(sim),
    };
    if (token.additionalData !== undefined && token.additionalData !== null)
      device.enrollmentTokenData = token.additionalData;
    this.state.devices.set(name, device);
    if (token.oneTimeOnly) this.state.enrollmentTokens.delete(token.name);
    const snapshot = clone(device);
    await this.notify(snapshot, 'ENROLLMENT');
    this.scheduleApply([name]);
    return snapshot;
  }

  async applyPolicies(opts: ApplyOptions = {}): Promise<Device[]> {
    const names = opts.deviceNames ?? [...this.state.devices.keys()];
    const applied: Device[] = [];
    const deliveries: Promise<PushRecord>[] = [];
    for (const name of names) {
      if (!this.state.devices.has(name)) continue;
      deliveries.push(...this.runCommands(name));
      const device = this.state.devices.get(name);
      if (!device) continue; // wiped or relinquished by a command
      const policy = device.policyName ? this.state.policies.get(device.policyName) : undefined;
      const sim = this.sim(name);
      const now = nowIso();
      device.lastStatusReportTime = now;
      if (!policy) {
        // No policy to apply: the device stays as it is (Google would block it), but still reports.
        const snapshot = clone(device);
        applied.push(snapshot);
        const delivery = this.notify(snapshot, 'STATUS_REPORT');
        if (delivery) deliveries.push(delivery);
        continue;
      }
      const details: androidmanagement_v1.Schema$NonComplianceDetail[] = [];
      const apps = policy.applications ?? [];
      const byPackage = new Map<string, { app: androidmanagement_v1.Schema$ApplicationPolicy; index: number }>();
      apps.forEach((app, index) => {
        if (app.packageName) byPackage.set(app.packageName, { app, index });
      });
      // Apps the policy installs.
      apps.forEach((app, index) => {
        const pkg = app.packageName;
        if (!pkg || !INSTALLING_TYPES.includes(app.installType ?? '')) return;
        if (sim.installed.has(pkg)) return;
        if (sim.uninstallable.has(pkg)) {
          details.push({
            settingName: 'applications',
            nonComplianceReason: 'APP_NOT_INSTALLED',
            packageName: pkg,
            fieldPath: `applications[${index}]`,
            installationFailureReason: 'NOT_FOUND',
          });
          return;
        }
        sim.installed.set(pkg, Math.max(1, app.minimumVersionCode ?? 1));
        sim.removed.delete(pkg);
      });
      // Minimum versions: the device updates what it can.
      for (const [pkg, { app }] of byPackage) {
        const installed = sim.installed.get(pkg);
        if (installed !== undefined && app.minimumVersionCode && installed < app.minimumVersionCode)
          sim.installed.set(pkg, app.minimumVersionCode);
      }
      // Apps the policy blocks: explicitly BLOCKED, or absent from an allowlist (WHITELIST, the default).
      const allowlist = (policy.playStoreMode ?? 'PLAY_STORE_MODE_UNSPECIFIED') !== 'BLACKLIST';
      for (const pkg of [...sim.installed.keys()]) {
        if (pkg === CLOUD_DPC) continue;
        const entry = byPackage.get(pkg);
        const explicitlyBlocked = entry?.app.installType === 'BLOCKED';
        const notAllowed = !entry && allowlist;
        if (!explicitlyBlocked && !notAllowed) continue;
        if (sim.unremovable.has(pkg)) {
          // System apps outside an allowlist are left alone; a BLOCKED one that cannot go is non-compliant.
          if (explicitlyBlocked && entry) {
            details.push({
              settingName: 'applications',
              nonComplianceReason: 'APP_INSTALLED',
              packageName: pkg,
              fieldPath: `applications[${entry.index}].installType`,
            });
          }
          continue;
        }
        sim.installed.delete(pkg);
        sim.removed.add(pkg);
      }
      device.appliedPolicyName = policy.name;
      device.appliedPolicyVersion = policy.version;
      device.appliedState = device.state === 'DISABLED' ? 'DISABLED' : 'ACTIVE';
      device.lastPolicySyncTime = now;
      device.policyCompliant = details.length === 0;
      if (details.length) device.nonComplianceDetails = details;
      else delete device.nonComplianceDetails;
      if (this.reportsNeedSetting && !policy.statusReportingSettings?.applicationReportsEnabled)
        delete device.applicationReports;
      else device.applicationReports = this.applicationReports(sim);
      const snapshot = clone(device);
      applied.push(snapshot);
      const delivery = this.notify(snapshot, 'STATUS_REPORT');
      if (delivery) deliveries.push(delivery);
    }
    await Promise.all(deliveries);
    return applied;
  }

  /** The device is online: it carries out its pending commands (and reports them, if COMMAND is enabled). */
  private runCommands(deviceName: string): Promise<PushRecord>[] {
    const deliveries: Promise<PushRecord>[] = [];
    const device = this.state.devices.get(deviceName);
    if (!device) return deliveries;
    for (const operation of this.state.operations.values()) {
      if (operation.done || !(operation.name ?? '').startsWith(`${deviceName}/operations/`)) continue;
      const command = typed<Command>(clone(operation.metadata ?? {}) as JsonObject);
      const expires =
        Date.parse(command.createTime ?? '') + durationSeconds(command.duration ?? DEFAULT_COMMAND_DURATION) * 1000;
      operation.done = true;
      if (Date.now() > expires) {
        operation.error = { code: 4, message: 'The command expired before the device executed it.' };
      } else if (
        command.type === 'RESET_PASSWORD' &&
        command.newPassword &&
        /^\d+$/.test(command.newPassword) &&
        command.newPassword.length < 6 &&
        (device.apiLevel ?? 0) >= 34
      ) {
        // "The new password must be at least 6 characters long if it is numeric in case of Android 14 devices."
        operation.metadata = { ...operation.metadata, errorCode: 'INVALID_VALUE' };
        operation.error = { code: 3, message: 'The new password is too short.' };
      } else if (command.type === 'WIPE' || command.type === 'RELINQUISH_OWNERSHIP') {
        // "The device will be deleted from the server after it acknowledges the command."
        this.state.devices.delete(deviceName);
        this.sims.delete(deviceName);
        const final = { ...clone(device), state: 'DELETED', appliedState: 'DELETED', lastStatusReportTime: nowIso() };
        const delivery = this.notify(final, 'STATUS_REPORT');
        if (delivery) deliveries.push(delivery);
      }
      const delivery = this.notifyEnterprise(enterpriseOf(deviceName), json(operation), 'COMMAND');
      if (delivery) deliveries.push(delivery);
    }
    return deliveries;
  }

  setInstalledApps(deviceName: string, packages: string[]): Device {
    const device = this.state.devices.get(deviceName);
    if (!device) throw new Error(`fake-amapi: no device ${deviceName}`);
    const sim = this.sim(deviceName);
    for (const pkg of sim.installed.keys()) if (!packages.includes(pkg)) sim.removed.add(pkg);
    const next = new Map<string, number>();
    for (const pkg of packages) {
      next.set(pkg, sim.installed.get(pkg) ?? 1);
      sim.removed.delete(pkg);
    }
    sim.installed = next;
    device.applicationReports = this.applicationReports(sim);
    return clone(device);
  }

  deleteDeviceOnGoogleSide(name: string): boolean {
    this.sims.delete(name);
    return this.state.devices.delete(name);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    await this.pusher.flush();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.applyTimer) clearTimeout(this.applyTimer);
    this.releaseApply();
    this.pusher.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  // --- API methods ------------------------------------------------------------------------------

  private buildHandlers(): Record<string, Handler> {
    const P = 'androidmanagement.';
    return {
      [`${P}signupUrls.create`]: ({ query }) => {
        const adminEmail = str(query.get('adminEmail') ?? undefined);
        const domainsValue = query.get('allowedDomains');
        const allowedDomains = (Array.isArray(domainsValue) ? domainsValue : []).filter(
          (d): d is string => typeof d === 'string' && d !== '',
        );
        if (adminEmail !== undefined) {
          const domain = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/.exec(adminEmail)?.[1]?.toLowerCase();
          if (!domain)
            throw ApiError.badRequest([
              { field: 'admin_email', description: `Invalid admin email ${JSON.stringify(adminEmail)}.` },
            ]);
          // "If allowedDomains is non-empty then this must belong to one of the allowedDomains";
          // a "*." entry admits subdomains, a bare one does not.
          const allowed = allowedDomains.some((d) => {
            const entry = d.toLowerCase();
            return entry.startsWith('*.') ? domain.endsWith(entry.slice(1)) : domain === entry;
          });
          if (allowedDomains.length > 0 && !allowed)
            throw ApiError.badRequest([
              {
                field: 'admin_email',
                description: `The admin email ${adminEmail} does not belong to one of the allowed domains (${allowedDomains.join(', ')}).`,
              },
            ]);
        }
        const name = `signupUrls/C${randomHex(8)}`;
        this.signups.set(name, {
          callbackUrl: str(query.get('callbackUrl') ?? undefined),
          projectId: str(query.get('projectId') ?? undefined) ?? this.projectId,
          enterpriseToken: randomHex(16),
        });
        return { name, url: `${this.url}_fake/signup?signupUrlName=${encodeURIComponent(name)}` };
      },

      [`${P}enterprises.create`]: ({ query, body }) => {
        const signupUrlName = str(query.get('signupUrlName') ?? undefined);
        const projectId = str(query.get('projectId') ?? undefined) ?? this.projectId;
        if (signupUrlName !== undefined) {
          const signup = this.signups.get(signupUrlName);
          if (!signup || signup.enterpriseToken !== str(query.get('enterpriseToken') ?? undefined)) {
            throw ApiError.badRequest([
              { field: 'enterprise_token', description: 'Invalid enterprise token for the given signup URL.' },
            ]);
          }
          this.signups.delete(signupUrlName);
        }
        this.checkEnterprise(body);
        const name = `enterprises/LC0${randomHex(4).slice(0, 7)}`;
        const enterprise = typed<Enterprise>({ ...body, name });
        this.state.enterprises.set(name, enterprise);
        this.enterpriseProjects.set(name, projectId);
        return json(enterprise);
      },

      [`${P}enterprises.get`]: ({ params }) => json(this.enterprise(params.name)),

      [`${P}enterprises.list`]: ({ query }) => {
        const projectId = str(query.get('projectId') ?? undefined);
        if (!projectId) throw ApiError.badRequest([{ field: 'project_id', description: 'projectId is required.' }]);
        const all = [...this.state.enterprises.values()]
          .filter((e) => this.enterpriseProjects.get(e.name ?? '') === projectId)
          .map((e) =>
            json(
              e.enterpriseDisplayName
                ? { name: e.name, enterpriseDisplayName: e.enterpriseDisplayName }
                : { name: e.name },
            ),
          );
        return this.list('enterprises', all, query);
      },

      [`${P}enterprises.patch`]: ({ params, query, body }) => {
        const existing = json(this.enterprise(params.name));
        const mask = this.updateMask(query, 'Enterprise');
        let next: JsonObject;
        if (mask) {
          next = clone(existing);
          for (const path of mask) setPath(next, path, getPath(body, path));
        } else {
          next = { ...existing, ...body };
        }
        this.checkEnterprise(next);
        next.name = params.name;
        this.state.enterprises.set(params.name, typed<Enterprise>(next));
        return next;
      },

      [`${P}enterprises.delete`]: ({ params }) => {
        this.enterprise(params.name);
        const prefix = `${params.name}/`;
        for (const map of [
          this.state.policies,
          this.state.devices,
          this.state.enrollmentTokens,
          this.state.webApps,
          this.state.operations,
        ] as Map<string, unknown>[]) {
          for (const key of [...map.keys()]) if (key.startsWith(prefix)) map.delete(key);
        }
        this.state.enterprises.delete(params.name);
        this.enterpriseProjects.delete(params.name);
        return {};
      },

      // --- policies
      [`${P}enterprises.policies.get`]: ({ params }) => {
        const policy = this.state.policies.get(params.name);
        if (!policy) throw ApiError.notFound();
        return json(policy);
      },

      [`${P}enterprises.policies.list`]: ({ params, query }) => {
        this.enterprise(params.parent);
        const prefix = `${params.parent}/policies/`;
        const all = [...this.state.policies.values()].filter((p) => p.name.startsWith(prefix)).map(json);
        return this.list('policies', all, query);
      },

      [`${P}enterprises.policies.patch`]: ({ params, query, body }) => {
        const enterpriseName = enterpriseOf(params.name);
        this.enterprise(enterpriseName);
        const policyId = params.name.split('/')[3];
        if (!POLICY_ID_PATTERN.test(policyId)) {
          throw ApiError.badRequest([
            {
              field: 'name',
              description: `Invalid policy id ${JSON.stringify(policyId)}: use 1 to 80 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
            },
          ]);
        }
        const previous = this.state.policies.get(params.name);
        const mask = this.updateMask(query, 'Policy');
        let next: JsonObject;
        if (mask) {
          next = previous ? clone(json(previous)) : {};
          for (const path of mask) setPath(next, path, getPath(body, path));
        } else {
          next = clone(body);
        }
        delete next.name;
        delete next.version;
        this.checkPolicy(next, 'policy', enterpriseOf(params.name));
        return json(this.storePolicy(params.name, next, previous));
      },

      [`${P}enterprises.policies.delete`]: ({ params }) => {
        if (!this.state.policies.has(params.name)) throw ApiError.notFound();
        const users = [...this.state.devices.values()].filter((d) => d.policyName === params.name);
        if (users.length) {
          throw new ApiError(
            400,
            'FAILED_PRECONDITION',
            `Policy ${params.name} cannot be deleted: ${users.length} device(s) reference it.`,
            [
              {
                '@type': 'type.googleapis.com/google.rpc.PreconditionFailure',
                violations: [
                  { type: 'POLICY_IN_USE', subject: params.name, description: 'The policy is referenced by devices.' },
                ],
              },
            ],
          );
        }
        this.state.policies.delete(params.name);
        return {};
      },

      [`${P}enterprises.policies.modifyPolicyApplications`]: ({ params, body }) => {
        const previous = this.state.policies.get(params.name);
        if (!previous) throw ApiError.notFound();
        const next = clone(json(previous));
        const apps: JsonObject[] = Array.isArray(next.applications) ? next.applications.filter(isJsonObject) : [];
        const changes = Array.isArray(body.changes) ? body.changes.filter(isJsonObject) : [];
        changes.forEach((change, i) => {
          const application = isJsonObject(change.application) ? change.application : {};
          const pkg = str(application.packageName);
          if (!pkg)
            throw ApiError.badRequest([
              { field: `changes[${i}].application.package_name`, description: 'Package name is required.' },
            ]);
          const index = apps.findIndex((a) => a.packageName === pkg);
          const maskText = str(change.updateMask);
          if (index < 0) {
            apps.push(clone(application));
          } else if (maskText) {
            for (const path of maskText
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean)) {
              const resolved = this.discovery.resolveFieldPath('ApplicationPolicy', path);
              if (resolved === null)
                throw ApiError.badRequest([
                  {
                    field: `changes[${i}].update_mask`,
                    description: `Invalid update_mask: field path ${JSON.stringify(path)} does not exist in ApplicationPolicy.`,
                  },
                ]);
              setPath(apps[index], resolved.split('.'), getPath(application, resolved.split('.')));
            }
          } else {
            apps[index] = clone(application);
          }
        });
        next.applications = apps;
        delete next.name;
        delete next.version;
        this.checkPolicy(next, 'policy', enterpriseOf(params.name));
        return { policy: json(this.storePolicy(params.name, next, previous)) };
      },

      [`${P}enterprises.policies.removePolicyApplications`]: ({ params, body }) => {
        const previous = this.state.policies.get(params.name);
        if (!previous) throw ApiError.notFound();
        const remove = new Set(
          Array.isArray(body.packageNames) ? body.packageNames.filter((p): p is string => typeof p === 'string') : [],
        );
        const next = clone(json(previous));
        next.applications = (Array.isArray(next.applications) ? next.applications.filter(isJsonObject) : []).filter(
          (a) => !remove.has(str(a.packageName) ?? ''),
        );
        delete next.name;
        delete next.version;
        return { policy: json(this.storePolicy(params.name, next, previous)) };
      },

      // --- devices
      [`${P}enterprises.devices.get`]: ({ params }) => {
        const device = this.state.devices.get(params.name);
        if (!device) throw ApiError.notFound();
        return json(device);
      },

      [`${P}enterprises.devices.list`]: ({ params, query }) => {
        this.enterprise(params.parent);
        const prefix = `${params.parent}/devices/`;
        const all = [...this.state.devices.values()].filter((d) => (d.name ?? '').startsWith(prefix)).map(json);
        return this.list('devices', all, query);
      },

      [`${P}enterprises.devices.patch`]: ({ params, query, body }) => {
        const device = this.state.devices.get(params.name);
        if (!device) throw ApiError.notFound();
        const enterpriseName = enterpriseOf(params.name);
        const mask = this.updateMask(query, 'Device');
        const fields = mask ? mask.map((p) => p[0]) : DEVICE_PATCHABLE_FIELDS.filter((f) => body[f] !== undefined);
        const notPatchable = fields.filter((f) => !DEVICE_PATCHABLE_FIELDS.includes(f));
        if (notPatchable.length) {
          throw ApiError.badRequest(
            notPatchable.map((f) => ({
              field: 'update_mask',
              description: `Device field ${JSON.stringify(f)} cannot be modified; modifiable fields: ${DEVICE_PATCHABLE_FIELDS.join(', ')}.`,
            })),
          );
        }
        const next = clone(json(device));
        for (const field of fields) {
          let value = body[field];
          if (field === 'policyName' && typeof value === 'string') {
            value = this.policyNameFor(enterpriseName, value);
            if (!this.state.policies.has(value)) throw ApiError.notFound(`Policy ${value} was not found.`);
          }
          if (field === 'policyName' && value === undefined)
            throw ApiError.badRequest([{ field: 'device.policy_name', description: 'policyName cannot be cleared.' }]);
          if (field === 'state' && value !== 'ACTIVE' && value !== 'DISABLED') {
            throw ApiError.badRequest([
              {
                field: 'device.state',
                description: `Only ACTIVE and DISABLED can be set by a patch (got ${JSON.stringify(value ?? null)}); use devices.delete to delete a device.`,
              },
            ]);
          }
          if (value === undefined) delete next[field];
          else next[field] = clone(value);
        }
        const updated = typed<Device>(next);
        this.state.devices.set(params.name, updated);
        this.scheduleApply([params.name]);
        return next;
      },

      [`${P}enterprises.devices.delete`]: async ({ params, query }) => {
        const device = this.state.devices.get(params.name);
        if (!device) throw ApiError.notFound();
        const wipeReasonMessage = str(query.get('wipeReasonMessage') ?? undefined);
        const limit = mustRulesOf(
          this.routeParam('androidmanagement.enterprises.devices.delete', 'wipeReasonMessage').description ?? '',
        ).maxLength;
        if (wipeReasonMessage !== undefined && limit !== undefined && wipeReasonMessage.length > limit)
          throw ApiError.badRequest([
            {
              field: 'wipe_reason_message',
              description: `wipeReasonMessage must be ${limit} characters or less (got ${wipeReasonMessage.length}).`,
            },
          ]);
        const flags = query.get('wipeDataFlags');
        const wipeDataFlags = (Array.isArray(flags) ? flags : [])
          .filter((f): f is string => typeof f === 'string')
          .filter((f) => f !== 'WIPE_DATA_FLAG_UNSPECIFIED'); // "This value is ignored."
        if (new Set(wipeDataFlags).size !== wipeDataFlags.length)
          throw ApiError.badRequest([
            { field: 'wipe_data_flags', description: 'wipeDataFlags must not have duplicates.' },
          ]);
        this.state.deletions.push({
          device: clone(device),
          wipeDataFlags,
          ...(wipeReasonMessage !== undefined ? { wipeReasonMessage } : {}),
          at: nowIso(),
        });
        this.state.devices.delete(params.name);
        this.sims.delete(params.name);
        // "If the device is deleted via the API call, this state is published to Pub/Sub."
        const final = { ...clone(device), state: 'DELETED', appliedState: 'DELETED', lastStatusReportTime: nowIso() };
        const delivery = this.notify(final, 'STATUS_REPORT');
        if (delivery) this.track(delivery);
        return {};
      },

      [`${P}enterprises.devices.issueCommand`]: ({ params, body }) => {
        const device = this.state.devices.get(params.name);
        if (!device) throw ApiError.notFound();
        const command = this.checkCommand(body, device);
        const name = `${params.name}/operations/${Date.now()}${randomInt(1000, 9999)}`;
        const operation: Operation = {
          name,
          metadata: { '@type': `type.googleapis.com/${PROTO_PACKAGE}.Command`, ...json(command) },
          done: false,
        };
        this.state.operations.set(name, operation);
        this.scheduleApply([params.name]);
        return json(operation);
      },

      [`${P}enterprises.devices.operations.get`]: ({ params }) => {
        const operation = this.state.operations.get(params.name);
        if (!operation) throw ApiError.notFound();
        return json(operation);
      },

      [`${P}enterprises.devices.operations.list`]: ({ params, query }) => {
        if (!this.state.devices.has(params.name.replace(/\/operations$/, ''))) throw ApiError.notFound();
        const prefix = `${params.name}/`;
        const all = [...this.state.operations.values()].filter((o) => (o.name ?? '').startsWith(prefix)).map(json);
        return this.list('operations', all, query);
      },

      [`${P}enterprises.devices.operations.cancel`]: ({ params }) => {
        const operation = this.state.operations.get(params.name);
        if (!operation) throw ApiError.notFound();
        if (operation.done)
          throw new ApiError(
            400,
            'FAILED_PRECONDITION',
            `Operation ${params.name} is already done: it cannot be cancelled.`,
          );
        operation.done = true;
        operation.error = { code: 1, message: 'The command was cancelled.' };
        return {};
      },

      // --- enrollment tokens
      [`${P}enterprises.enrollmentTokens.create`]: ({ params, body }) => {
        this.enterprise(params.parent);
        const violations: FieldViolation[] = this.discovery.checkMust('EnrollmentToken', body, 'enrollment_token');
        const duration = str(body.duration) ?? '3600s';
        const seconds = durationSeconds(duration);
        if (seconds < 60)
          violations.push({
            field: 'enrollment_token.duration',
            description: `duration must be at least 1 minute (got ${duration}).`,
          });
        const policyName = str(body.policyName);
        // The policy a phone enrolls into must exist (without one, the phone would be blocked at set-up).
        const initialPolicy = policyName === undefined ? undefined : this.policyNameFor(params.parent, policyName);
        if (initialPolicy && !this.state.policies.has(initialPolicy))
          violations.push({ field: 'enrollment_token.policy_name', description: `Policy ${initialPolicy} not found.` });
        if (violations.length) throw ApiError.badRequest(violations);
        const value = randomLetters(20);
        const token: JsonObject = {
          ...body,
          name: `${params.parent}/enrollmentTokens/${randomBytes(24).toString('base64url')}`,
          value,
          duration,
          expirationTimestamp: new Date(Math.min(Date.now() + seconds * 1000, MAX_TIMESTAMP_MS)).toISOString(),
          qrCode: JSON.stringify({
            'android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME': `${CLOUD_DPC}/.receivers.CloudDeviceAdminReceiver`,
            'android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM':
              'I5YvS0O5hXY46mb01BlRjq4oJJGs2kuUcHvVkAPEXlg',
            'android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION':
              'https://play.google.com/managed/downloadManagingApp?identifier=setup',
            'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE': { [`${CLOUD_DPC}.EXTRA_ENROLLMENT_TOKEN`]: value },
          }),
        };
        if (initialPolicy !== undefined) token.policyName = initialPolicy;
        this.state.enrollmentTokens.set(str(token.name) ?? '', typed<EnrollmentToken>(token));
        return token;
      },

      [`${P}enterprises.enrollmentTokens.get`]: ({ params }) => {
        const token = this.state.enrollmentTokens.get(params.name);
        if (!token || (token.expirationTimestamp && Date.parse(token.expirationTimestamp) < Date.now()))
          throw ApiError.notFound();
        return json(token);
      },

      [`${P}enterprises.enrollmentTokens.list`]: ({ params, query }) => {
        this.enterprise(params.parent);
        const prefix = `${params.parent}/enrollmentTokens/`;
        const now = Date.now();
        const all = [...this.state.enrollmentTokens.values()]
          .filter(
            (t) =>
              (t.name ?? '').startsWith(prefix) && !(t.expirationTimestamp && Date.parse(t.expirationTimestamp) < now),
          )
          .map(json);
        return this.list('enrollmentTokens', all, query);
      },

      [`${P}enterprises.enrollmentTokens.delete`]: ({ params }) => {
        if (!this.state.enrollmentTokens.delete(params.name)) throw ApiError.notFound();
        return {};
      },

      // --- web apps
      [`${P}enterprises.webApps.create`]: ({ params, body }) => {
        this.enterprise(params.parent);
        this.checkWebApp(body);
        const name = `${params.parent}/webApps/com.google.enterprise.webapp.x${randomHex(8)}`;
        const webApp = { ...body, name, versionCode: '1' };
        this.state.webApps.set(name, typed<WebApp>(webApp));
        return webApp;
      },

      [`${P}enterprises.webApps.get`]: ({ params }) => {
        const webApp = this.state.webApps.get(params.name);
        if (!webApp) throw ApiError.notFound();
        return json(webApp);
      },

      [`${P}enterprises.webApps.list`]: ({ params, query }) => {
        this.enterprise(params.parent);
        const prefix = `${params.parent}/webApps/`;
        const all = [...this.state.webApps.values()].filter((w) => (w.name ?? '').startsWith(prefix)).map(json);
        return this.list('webApps', all, query);
      },

      [`${P}enterprises.webApps.patch`]: ({ params, query, body }) => {
        const previous = this.state.webApps.get(params.name);
        if (!previous) throw ApiError.notFound();
        const mask = this.updateMask(query, 'WebApp');
        let next: JsonObject;
        if (mask) {
          next = clone(json(previous));
          for (const path of mask) setPath(next, path, getPath(body, path));
        } else {
          next = { ...clone(body) };
        }
        this.checkWebApp(next);
        next.name = params.name;
        next.versionCode = (BigInt(previous.versionCode ?? '0') + 1n).toString();
        this.state.webApps.set(params.name, typed<WebApp>(next));
        return next;
      },

      [`${P}enterprises.webApps.delete`]: ({ params }) => {
        if (!this.state.webApps.delete(params.name)) throw ApiError.notFound();
        return {};
      },
    };
  }

  private checkWebApp(webApp: JsonObject): void {
    const violations: FieldViolation[] = [];
    if (!str(webApp.title)) violations.push({ field: 'web_app.title', description: 'title is required.' });
    const startUrl = str(webApp.startUrl);
    if (!startUrl) violations.push({ field: 'web_app.start_url', description: 'startUrl is required.' });
    else if (!/^https?:\/\/[^/\s]+/i.test(startUrl))
      violations.push({
        field: 'web_app.start_url',
        description: `startUrl must be an http(s) URL, got ${JSON.stringify(startUrl)}.`,
      });
    // icons: "Must have at least one element"; imageData: base64url.
    violations.push(...this.discovery.checkMust('WebApp', webApp, 'web_app'));
    const icons = Array.isArray(webApp.icons) ? webApp.icons : [];
    icons.forEach((icon, i) => {
      const data = isJsonObject(icon) ? str(icon.imageData) : undefined;
      const field = `web_app.icons[${i}].image_data`;
      if (!data) {
        violations.push({ field, description: `Invalid value at '${field}': an icon needs its imageData.` });
        return;
      }
      const bytes = Buffer.from(data, 'base64url');
      if (!IMAGE_SIGNATURES.some((s) => s.test(bytes)))
        violations.push({
          field,
          description: `Invalid value at '${field}': the image is not a png, jpg or webp file (WebAppIcon: "Supported formats are: png, jpg and webp").`,
        });
    });
    if (violations.length) throw ApiError.badRequest(violations);
  }

  /** A command as Google takes it: its type set from its parameters, what the type needs checked. */
  private checkCommand(body: JsonObject, device: Device): Command {
    const violations: FieldViolation[] = [];
    const implied = Object.entries(COMMAND_PARAMS)
      .filter(([field]) => body[field] !== undefined)
      .map(([, type]) => type);
    const given = str(body.type);
    let type = given && given !== 'COMMAND_TYPE_UNSPECIFIED' ? given : implied[0];
    if (implied.length > 1)
      violations.push({
        field: 'command',
        description: `Only one kind of command parameters can be set (got ${implied.join(', ')}).`,
      });
    else if (implied.length === 1 && type !== implied[0])
      violations.push({
        field: 'command.type',
        description: `The command type ${type} does not match its parameters (${implied[0]}).`,
      });
    if (!type) {
      violations.push({ field: 'command.type', description: 'COMMAND_TYPE_UNSPECIFIED: This value is disallowed.' });
      type = 'COMMAND_TYPE_UNSPECIFIED';
    }
    if (type !== 'RESET_PASSWORD' && (body.newPassword !== undefined || body.resetPasswordFlags !== undefined))
      violations.push({
        field: 'command.new_password',
        description: 'newPassword and resetPasswordFlags are for commands of type RESET_PASSWORD only.',
      });
    if (type === 'CLEAR_APP_DATA') {
      const params = isJsonObject(body.clearAppsDataParams) ? body.clearAppsDataParams : {};
      if (!Array.isArray(params.packageNames) || params.packageNames.length === 0)
        violations.push({
          field: 'command.clear_apps_data_params.package_names',
          description: 'CLEAR_APP_DATA needs clearAppsDataParams.packageNames.',
        });
    }
    if (type === 'START_LOST_MODE') {
      // "At least one of the parameters, not including the organization name, must be provided".
      const params = isJsonObject(body.startLostModeParams) ? body.startLostModeParams : {};
      if (
        !['lostEmailAddress', 'lostMessage', 'lostPhoneNumber', 'lostStreetAddress'].some(
          (f) => params[f] !== undefined,
        )
      )
        violations.push({
          field: 'command.start_lost_mode_params',
          description:
            'START_LOST_MODE needs at least one of lostMessage, lostPhoneNumber, lostEmailAddress, lostStreetAddress.',
        });
    }
    violations.push(...this.discovery.checkMust('Command', body, 'command'));
    if (violations.length) throw ApiError.badRequest(violations);
    const fullyManaged = device.managementMode === 'DEVICE_OWNER';
    const companyOwned = device.ownership === 'COMPANY_OWNED';
    const refuse = (why: string): never => {
      throw new ApiError(400, 'FAILED_PRECONDITION', `${type} cannot be issued to ${device.name}: ${why}`);
    };
    // What the type enum's descriptions say each command supports.
    if (type === 'REBOOT' && !fullyManaged) refuse('only supported on fully managed devices.');
    if ((type === 'START_LOST_MODE' || type === 'STOP_LOST_MODE') && !companyOwned)
      refuse('only supported on fully managed devices or organization-owned devices with a managed profile.');
    if (type === 'RELINQUISH_OWNERSHIP' && !(companyOwned && !fullyManaged))
      refuse('only for company-owned devices with a work profile.');
    return typed<Command>({
      ...body,
      type,
      createTime: nowIso(),
      duration: str(body.duration) ?? DEFAULT_COMMAND_DURATION,
    });
  }

  private routeParam(methodId: string, name: string): DiscoveryParameter {
    const route = this.discovery.routes.find((r) => r.method.id === methodId);
    const param = route?.method.parameters?.[name];
    if (!param) throw new Error(`fake-amapi: no parameter ${name} of ${methodId} in the discovery document`);
    return param;
  }
}

/** Starts the fake on 127.0.0.1 (a free port unless `port` is given). */
export async function startFakeAmapi(opts: FakeAmapiOptions = {}): Promise<FakeAmapi> {
  const fake = new FakeAmapiServer(opts);
  await fake.listen(opts.port ?? 0);
  return fake;
}
