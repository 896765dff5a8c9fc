/**
 * A fake Apple Business Manager device assignment service (the "DEP" API of
 * mdmenrollment.apple.com), for tests and demos. HTTP on 127.0.0.1, same paths and verbs as Apple's
 * published API (Device Assignment, protocol version 3), as strict as Apple on what it documents:
 *
 * - `GET /session`: an OAuth 1.0a `Authorization` header (realm ADM, HMAC-SHA1, the consumer key
 *   and access token of the server token this fake issued, a timestamp within 5 minutes, a nonce
 *   never seen before, a signature that verifies), else 401 `UNAUTHORIZED`; answers
 *   `{"auth_session_token": …}`. An expired server token: 403 `FORBIDDEN`... as Apple, the MDM must
 *   import a renewed one.
 * - every other call needs `X-ADM-Auth-Session` with a live session, else 401 `UNAUTHORIZED` (the
 *   MDM opens a new session and tries again); bodies are JSON (`Content-Type: application/json`),
 *   else 400 `MALFORMED_REQUEST_BODY`.
 * - `POST /server/devices` (fetch, cursor optional, limit ≤ 1000), `POST /devices/sync` (cursor
 *   required): `INVALID_CURSOR` for a cursor this server never gave, `EXPIRED_CURSOR` after 7
 *   days, `EXHAUSTED_CURSOR` for a fetch cursor given with `more_to_follow: false` (the MDM must
 *   sync from it instead of fetching again).
 * - `POST /profile`: `profile_name` (`CONFIG_NAME_REQUIRED`) and `url` (`CONFIG_URL_REQUIRED`,
 *   `CONFIG_URL_INVALID` unless an https URL of at most 2,000 characters, loopback hosts included:
 *   a device evaluates the TLS trust of that URL, with the profile's `anchor_certs` or its built-in
 *   roots, so tests serve the service over TLS), `configuration_web_url` https too when given,
 *   flags typed as booleans and `is_mdm_removable: false` only with `is_supervised: true`
 *   (`FLAGS_INVALID`), `skip_setup_items` an array of strings.
 * - `PUT /profile/devices` (and POST, as Apple's newer documentation lists): a known
 *   `profile_uuid`, 1 to 1,000 serial numbers; each answered `SUCCESS` or `NOT_ACCESSIBLE`.
 *
 * State is in memory; the test reads `assignments`, `refusals` and `sessionsOpened`, adds devices
 * with `addDevices`, removes them with `removeDevice`, and ends sessions with `expireSessions`.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OAuth from 'oauth-1.0a';
import { encryptServerToken, ServerTokenCredentials } from './server-token';

export interface AbmDevice {
  serial_number: string;
  model: string;
  description: string;
  color: string;
  asset_tag?: string;
  os: string;
  device_family: string;
  profile_status: 'empty' | 'assigned' | 'pushed' | 'removed';
  profile_uuid?: string;
  profile_assign_time?: string;
  profile_push_time?: string;
  device_assigned_date: string;
  device_assigned_by: string;
}

export interface AbmProfile {
  profile_uuid: string;
  profile_name: string;
  url: string;
  [key: string]: unknown;
}

export interface Refusal {
  method: string;
  path: string;
  status: number;
  error: string;
}

interface Cursor {
  kind: 'fetch' | 'sync';
  /** fetch: the serial numbers of the snapshot and how many were already given. */
  snapshot?: string[];
  offset: number;
  /** Position in the change log the cursor stands at. */
  eventSeq: number;
  issuedAt: number;
  exhausted: boolean;
}

interface Change {
  serial: string;
  op_type: 'added' | 'modified' | 'deleted';
  op_date: string;
}

export interface FakeAbmOptions {
  port?: number;
  /** How long a session lasts (default 3 minutes). */
  sessionTtlMs?: number;
  /** Expiry of the server tokens issued (default in one year). */
  tokenExpiry?: Date;
  serverName?: string;
  orgName?: string;
}

const CURSOR_TTL_MS = 7 * 86_400_000;
const TIMESTAMP_SKEW_S = 300;
const BOOLEAN_FLAGS = [
  'allow_pairing',
  'is_supervised',
  'is_multi_user',
  'is_mandatory',
  'await_device_configured',
  'is_mdm_removable',
  'auto_advance_setup',
];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {
    super(error);
  }
}

function parseOAuthHeader(header: string | undefined): Record<string, string> | null {
  if (!header || !/^OAuth\s/i.test(header)) return null;
  const params: Record<string, string> = {};
  for (const part of header.replace(/^OAuth\s+/i, '').split(',')) {
    const m = /^\s*([A-Za-z_]+)="([^"]*)"\s*$/.exec(part);
    if (!m) return null;
    params[m[1]] = decodeURIComponent(m[2]);
  }
  return params;
}

/** An https URL Apple's profile fields accept (RFC 2396 syntax, at most 2,000 characters). */
function isHttpsUrl(value: string): boolean {
  if (value.length > 2000) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '';
  } catch {
    return false;
  }
}

export class FakeAbm {
  readonly devices = new Map<string, AbmDevice>();
  readonly profiles = new Map<string, AbmProfile>();
  /** Serial number → profile UUID, for every successful assignment, in order. */
  readonly assignments = new Map<string, string>();
  readonly refusals: Refusal[] = [];
  sessionsOpened = 0;
  /** Set: every call is answered 503 SERVICE_UNAVAILABLE, as during an outage at Apple. */
  unavailable = false;
  /** Device calls (fetch, sync) answered, with the limit asked. */
  readonly pages: { path: string; limit: number; devices: number }[] = [];
  url = '';
  private server?: Server;
  private readonly tokens = new Map<string, ServerTokenCredentials>();
  private readonly sessions = new Map<string, number>();
  private readonly nonces = new Set<string>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly changes: Change[] = [];
  private serial = 0;

  constructor(private readonly options: FakeAbmOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((ok) => this.server?.listen(this.options.port ?? 0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  /**
   * What ABM gives IT for "Download token" once the MDM server's certificate is uploaded: the
   * .p7m file encrypted to that certificate, with fresh OAuth credentials this fake accepts.
   */
  issueServerToken(certificatePem: string, expiry = this.options.tokenExpiry): string {
    const credentials: ServerTokenCredentials = {
      consumer_key: `CK_${randomBytes(24).toString('hex')}`,
      consumer_secret: `CS_${randomBytes(20).toString('hex')}`,
      access_token: `AT_O${randomBytes(12).toString('hex')}`,
      access_secret: `AS_${randomBytes(20).toString('hex')}`,
      access_token_expiry: (expiry ?? new Date(Date.now() + 365 * 86_400_000)).toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    this.tokens.set(credentials.consumer_key, credentials);
    return encryptServerToken(credentials, certificatePem);
  }

  /** Devices IT assigned to this MDM server in ABM (added to the change log for sync). */
  addDevices(count: number, model = 'iPhone 15'): AbmDevice[] {
    const added: AbmDevice[] = [];
    const now = new Date().toISOString();
    for (let i = 0; i < count; i++) {
      this.serial++;
      const device: AbmDevice = {
        serial_number: `F2L${this.serial.toString(36).toUpperCase().padStart(9, '0')}`,
        model,
        description: `${model.toUpperCase()} 128GB BLUE-FRA`,
        color: 'BLUE',
        os: 'iOS',
        device_family: 'iPhone',
        profile_status: 'empty',
        device_assigned_date: now,
        device_assigned_by: 'it@ministere.gouv.fr',
      };
      this.devices.set(device.serial_number, device);
      this.changes.push({ serial: device.serial_number, op_type: 'added', op_date: now });
      added.push(device);
    }
    return added;
  }

  /** IT unassigned the device from this MDM server in ABM. */
  removeDevice(serial: string): void {
    if (!this.devices.delete(serial)) return;
    this.changes.push({ serial, op_type: 'deleted', op_date: new Date().toISOString() });
  }

  /** A live session without OAuth, for a test that calls the API itself. */
  openTestSession(): string {
    const token = `test_${randomBytes(20).toString('hex')}`;
    this.sessions.set(token, Date.now() + (this.options.sessionTtlMs ?? 180_000));
    return token;
  }

  /** Every session ends (as Apple's do after a few minutes): the next call gets 401. */
  expireSessions(): void {
    this.sessions.clear();
  }

  private refuse(method: string, path: string, status: number, error: string): never {
    this.refusals.push({ method, path, status, error });
    throw new HttpError(status, error);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    try {
      if (this.unavailable) this.refuse(method, url.pathname, 503, 'SERVICE_UNAVAILABLE');
      const answer = this.route(req, method, url, raw);
      res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF8' });
      res.end(JSON.stringify(answer));
    } catch (e) {
      const error = e instanceof HttpError ? e : new HttpError(500, 'INTERNAL_SERVER_ERROR');
      res.writeHead(error.status, { 'Content-Type': 'text/plain;charset=UTF8' });
      res.end(error.error);
    }
  }

  private route(req: IncomingMessage, method: string, url: URL, raw: string): unknown {
    const path = url.pathname;
    if (path === '/session' && method === 'GET') return this.openSession(req, url);
    const session = req.headers['x-adm-auth-session'];
    const expires = typeof session === 'string' ? this.sessions.get(session) : undefined;
    if (expires === undefined || expires < Date.now()) {
      if (typeof session === 'string') this.sessions.delete(session);
      this.refuse(method, path, 401, 'UNAUTHORIZED');
    }
    const body = (): Record<string, unknown> => this.jsonBody(req, method, path, raw);
    if (path === '/account' && method === 'GET')
      return {
        server_name: this.options.serverName ?? 'MDM applications État',
        server_uuid: randomUUID().toUpperCase(),
        admin_id: 'it@ministere.gouv.fr',
        facilitator_id: 'it@ministere.gouv.fr',
        org_name: this.options.orgName ?? 'Ministère',
        org_email: 'it@ministere.gouv.fr',
        org_phone: '+33 1 00 00 00 00',
        org_address: 'Paris',
        org_id: '1234567',
        org_id_hash: 'a1b2c3',
        org_type: 'org',
        org_version: 'v2',
      };
    if (path === '/server/devices' && method === 'POST') return this.fetchDevices(method, path, body());
    if (path === '/devices/sync' && method === 'POST') return this.syncDevices(method, path, body());
    if (path === '/profile' && method === 'POST') return this.defineProfile(method, path, body());
    if (path === '/profile' && method === 'GET') {
      const profile = this.profiles.get(url.searchParams.get('profile_uuid') ?? '');
      if (!profile) this.refuse(method, path, 400, 'PROFILE_NOT_FOUND');
      return profile;
    }
    if (path === '/profile/devices' && (method === 'PUT' || method === 'POST'))
      return this.assignProfile(method, path, body());
    return this.refuse(method, path, 404, 'NOT_FOUND');
  }

  private openSession(req: IncomingMessage, url: URL): unknown {
    const params = parseOAuthHeader(req.headers.authorization);
    const bad = (): never => this.refuse('GET', '/session', 401, 'UNAUTHORIZED');
    if (!params || params.realm !== 'ADM') return bad();
    if (params.oauth_signature_method !== 'HMAC-SHA1' || (params.oauth_version && params.oauth_version !== '1.0'))
      return bad();
    const credentials = this.tokens.get(params.oauth_consumer_key ?? '');
    if (!credentials || params.oauth_token !== credentials.access_token) return bad();
    const timestamp = Number(params.oauth_timestamp);
    if (!Number.isInteger(timestamp) || Math.abs(timestamp - Date.now() / 1000) > TIMESTAMP_SKEW_S) return bad();
    if (!params.oauth_nonce || this.nonces.has(params.oauth_nonce)) return bad();
    const oauth = new OAuth({
      consumer: { key: credentials.consumer_key, secret: credentials.consumer_secret },
      signature_method: 'HMAC-SHA1',
      hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
    });
    const oauthData: OAuth.Data = {
      oauth_consumer_key: params.oauth_consumer_key,
      oauth_nonce: params.oauth_nonce,
      oauth_signature_method: params.oauth_signature_method,
      oauth_timestamp: Number(params.oauth_timestamp),
      oauth_version: params.oauth_version ?? '1.0',
      oauth_token: params.oauth_token,
    };
    const expected = oauth.getSignature(
      { url: `${this.url}${url.pathname}${url.search}`, method: 'GET' },
      credentials.access_secret,
      oauthData,
    );
    if (expected !== params.oauth_signature) return bad();
    this.nonces.add(params.oauth_nonce);
    if (new Date(credentials.access_token_expiry).getTime() < Date.now())
      this.refuse('GET', '/session', 403, 'FORBIDDEN');
    const token = `1413412323_${randomBytes(20).toString('hex')}`;
    this.sessions.set(token, Date.now() + (this.options.sessionTtlMs ?? 180_000));
    this.sessionsOpened++;
    return { auth_session_token: token };
  }

  private jsonBody(req: IncomingMessage, method: string, path: string, raw: string): Record<string, unknown> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json/i.test(type)) this.refuse(method, path, 400, 'MALFORMED_REQUEST_BODY');
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.refuse(method, path, 400, 'MALFORMED_REQUEST_BODY');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.refuse(method, path, 400, 'MALFORMED_REQUEST_BODY');
    return value as Record<string, unknown>;
  }

  private limitOf(method: string, path: string, body: Record<string, unknown>): number {
    if (body.limit === undefined) return 100;
    if (typeof body.limit !== 'number' || !Number.isInteger(body.limit) || body.limit < 1)
      this.refuse(method, path, 400, 'MALFORMED_REQUEST_BODY');
    return Math.min(body.limit, 1000);
  }

  private cursorOf(method: string, path: string, value: unknown): Cursor {
    if (typeof value !== 'string') this.refuse(method, path, 400, 'INVALID_CURSOR');
    const cursor = this.cursors.get(value);
    if (!cursor) this.refuse(method, path, 400, 'INVALID_CURSOR');
    if (Date.now() - cursor.issuedAt > CURSOR_TTL_MS) this.refuse(method, path, 400, 'EXPIRED_CURSOR');
    return cursor;
  }

  private issueCursor(cursor: Cursor): string {
    const id = randomBytes(24).toString('hex');
    this.cursors.set(id, cursor);
    return id;
  }

  private fetchDevices(method: string, path: string, body: Record<string, unknown>): unknown {
    const limit = this.limitOf(method, path, body);
    let previous: Cursor;
    if (body.cursor === undefined) {
      previous = {
        kind: 'fetch',
        snapshot: [...this.devices.keys()].sort(),
        offset: 0,
        eventSeq: this.changes.length,
        issuedAt: Date.now(),
        exhausted: false,
      };
    } else {
      previous = this.cursorOf(method, path, body.cursor);
      if (previous.kind !== 'fetch') this.refuse(method, path, 400, 'INVALID_CURSOR');
      if (previous.exhausted) this.refuse(method, path, 400, 'EXHAUSTED_CURSOR');
    }
    const snapshot = previous.snapshot ?? [];
    const serials = snapshot.slice(previous.offset, previous.offset + limit);
    const offset = previous.offset + serials.length;
    const more = offset < snapshot.length;
    const cursor = this.issueCursor({ ...previous, offset, issuedAt: Date.now(), exhausted: !more });
    const devices = serials.map((s) => this.devices.get(s)).filter((d): d is AbmDevice => d !== undefined);
    this.pages.push({ path, limit, devices: devices.length });
    return { devices, cursor, fetched_until: new Date().toISOString(), more_to_follow: more };
  }

  private syncDevices(method: string, path: string, body: Record<string, unknown>): unknown {
    const limit = this.limitOf(method, path, body);
    const previous = this.cursorOf(method, path, body.cursor);
    const changes = this.changes.slice(previous.eventSeq, previous.eventSeq + limit);
    const eventSeq = previous.eventSeq + changes.length;
    const cursor = this.issueCursor({ kind: 'sync', offset: 0, eventSeq, issuedAt: Date.now(), exhausted: false });
    const devices = changes.map((c) => {
      const device = this.devices.get(c.serial);
      return device
        ? { ...device, op_type: c.op_type, op_date: c.op_date }
        : { serial_number: c.serial, op_type: c.op_type, op_date: c.op_date };
    });
    this.pages.push({ path, limit, devices: devices.length });
    return {
      devices,
      cursor,
      fetched_until: new Date().toISOString(),
      more_to_follow: eventSeq < this.changes.length,
    };
  }

  private defineProfile(method: string, path: string, body: Record<string, unknown>): unknown {
    if (typeof body.profile_name !== 'string' || body.profile_name.trim() === '')
      this.refuse(method, path, 400, 'CONFIG_NAME_REQUIRED');
    if (typeof body.url !== 'string' || body.url === '') this.refuse(method, path, 400, 'CONFIG_URL_REQUIRED');
    if (!isHttpsUrl(body.url)) this.refuse(method, path, 400, 'CONFIG_URL_INVALID');
    if (
      body.configuration_web_url !== undefined &&
      (typeof body.configuration_web_url !== 'string' || !isHttpsUrl(body.configuration_web_url))
    )
      this.refuse(method, path, 400, 'CONFIG_URL_INVALID');
    for (const flag of BOOLEAN_FLAGS)
      if (body[flag] !== undefined && typeof body[flag] !== 'boolean') this.refuse(method, path, 400, 'FLAGS_INVALID');
    if (body.is_mdm_removable === false && body.is_supervised !== true) this.refuse(method, path, 400, 'FLAGS_INVALID');
    if (
      body.skip_setup_items !== undefined &&
      (!Array.isArray(body.skip_setup_items) || body.skip_setup_items.some((s) => typeof s !== 'string'))
    )
      this.refuse(method, path, 400, 'MALFORMED_REQUEST_BODY');
    const profile_uuid = randomBytes(16).toString('hex').toUpperCase();
    const { devices, ...rest } = body;
    this.profiles.set(profile_uuid, { ...rest, profile_uuid } as AbmProfile);
    const results = Array.isArray(devices) ? this.assign(profile_uuid, devices) : {};
    return { profile_uuid, devices: results };
  }

  private assignProfile(method: string, path: string, body: Record<string, unknown>): unknown {
    if (typeof body.profile_uuid !== 'string' || !this.profiles.has(body.profile_uuid))
      this.refuse(method, path, 400, 'PROFILE_NOT_FOUND');
    const devices = body.devices;
    if (!Array.isArray(devices) || devices.length === 0 || devices.some((d) => typeof d !== 'string'))
      this.refuse(method, path, 400, 'DEVICE_ID_REQUIRED');
    if (devices.length > 1000) this.refuse(method, path, 400, 'MALFORMED_REQUEST_BODY');
    return { profile_uuid: body.profile_uuid, devices: this.assign(body.profile_uuid, devices as string[]) };
  }

  private assign(profileUuid: string, serials: unknown[]): Record<string, string> {
    const results: Record<string, string> = {};
    const now = new Date().toISOString();
    for (const serial of serials) {
      if (typeof serial !== 'string') continue;
      const device = this.devices.get(serial);
      if (!device) {
        results[serial] = 'NOT_ACCESSIBLE';
        continue;
      }
      device.profile_uuid = profileUuid;
      device.profile_status = 'assigned';
      device.profile_assign_time = now;
      this.assignments.set(serial, profileUuid);
      this.changes.push({ serial, op_type: 'modified', op_date: now });
      results[serial] = 'SUCCESS';
    }
    return results;
  }
}

export async function startFakeAbm(options: FakeAbmOptions = {}): Promise<FakeAbm> {
  return new FakeAbm(options).start();
}
