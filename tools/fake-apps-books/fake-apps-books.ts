/**
 * A fake Apple "Apps and Books for Organizations" service (VPP License Management 2.x, the
 * vpp.itunes.apple.com/mdm/v2 API), for tests and demos. HTTP on 127.0.0.1, Apple's paths, fields
 * and error shape (`{"errorNumber": …, "errorMessage": …}`), as strict as Apple documents:
 *
 * - every call needs `Authorization: Bearer <sToken>` with a content token this fake issued (the
 *   base64 JSON `{token, expDate, orgName}` ABM's "Download token" gives), not expired: else 401.
 * - `GET/POST /mdm/v2/client/config` (clientContext at most 256 characters, notificationUrl https);
 * - `GET /mdm/v2/assets` (filters adamId, pricingParam, productType, pageIndex; pages of 100);
 * - `POST /mdm/v2/assets/associate` and `/disassociate`: `assets` (1 to 25 `{adamId, pricingParam}`
 *   the organisation owns) and either `serialNumbers` or `clientUserIds` (not both, at most 1,000);
 *   the answer is an `eventId`, the outcome is read with `GET /mdm/v2/status?eventId=` (COMPLETE, or
 *   FAILED with `failures`: a serial number with no licence left gets error 9709, as Apple's
 *   "insufficient licenses"). Associating a serial that holds the licence already changes nothing.
 * - `GET /mdm/v2/assignments` (filters adamId, serialNumber).
 * Content-Type must be application/json for POST bodies (else 400, error 9600).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAsset {
  adamId: string;
  pricingParam: 'STDQ' | 'PLUS';
  productType: 'App' | 'Book';
  totalCount: number;
  deviceAssignable: boolean;
  revocable: boolean;
  supportedPlatforms: string[];
}

interface EventOutcome {
  eventStatus: 'COMPLETE' | 'FAILED';
  eventType: 'ASSOCIATE' | 'DISASSOCIATE';
  numCompleted: number;
  numRequested: number;
  failures: { adamId: string; pricingParam: string; serialNumber: string; errorNumber: number; errorMessage: string }[];
}

interface Token {
  token: string;
  expDate: string;
  orgName: string;
  locationName: string;
  uId: string;
  clientContext?: string;
  notificationUrl?: string;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorNumber: number,
    readonly errorMessage: string,
  ) {
    super(errorMessage);
  }
}

const PAGE_SIZE = 100;

export class FakeAppsAndBooks {
  readonly assets = new Map<string, FakeAsset>();
  /** `adamId:serialNumber` of every licence associated to a device. */
  readonly deviceAssignments = new Set<string>();
  readonly refusals: { path: string; status: number; errorNumber: number }[] = [];
  /** Every associate / disassociate call received, in order. */
  readonly calls: { path: string; adamIds: string[]; serialNumbers: string[] }[] = [];
  url = '';
  /** Set: every call is answered 503, as during an outage at Apple. */
  unavailable = false;
  private server?: Server;
  private readonly tokens = new Map<string, Token>();
  private readonly events = new Map<string, EventOutcome>();
  private versionId = 1;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((ok) => this.server?.listen(port, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  /** The content token (.vpptoken file contents) for a location, as ABM gives it. */
  issueToken(locationName = 'Ministère — licences', expires = new Date(Date.now() + 365 * 86_400_000)): string {
    const token: Token = {
      token: randomBytes(48).toString('base64'),
      expDate: expires.toISOString().replace(/\.\d+Z$/, '+0000'),
      orgName: 'Ministère',
      locationName,
      uId: String(2_000_000 + this.tokens.size),
    };
    const sToken = Buffer.from(
      JSON.stringify({ token: token.token, expDate: token.expDate, orgName: token.orgName }),
    ).toString('base64');
    this.tokens.set(sToken, token);
    return sToken;
  }

  addAsset(adamId: string, totalCount: number, extra: Partial<FakeAsset> = {}): void {
    this.assets.set(adamId, {
      adamId,
      pricingParam: 'STDQ',
      productType: 'App',
      totalCount,
      deviceAssignable: true,
      revocable: true,
      supportedPlatforms: ['iOS', 'iPadOS'],
      ...extra,
    });
    this.versionId++;
  }

  assignedCount(adamId: string): number {
    return [...this.deviceAssignments].filter((k) => k.startsWith(`${adamId}:`)).length;
  }

  private assetView(a: FakeAsset): Record<string, unknown> {
    const assigned = this.assignedCount(a.adamId);
    return {
      adamId: a.adamId,
      pricingParam: a.pricingParam,
      productType: a.productType,
      assignedCount: assigned,
      availableCount: Math.max(0, a.totalCount - assigned),
      retiredCount: 0,
      totalCount: a.totalCount,
      deviceAssignable: a.deviceAssignable,
      revocable: a.revocable,
      supportedPlatforms: a.supportedPlatforms,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    try {
      // Apple's error numbers (VPPServiceConfigSrv's errorCodes): 9603 is "Internal error"; 9601 is
      // "Login required", which an outage is not.
      if (this.unavailable) throw new ApiError(503, 9603, 'Internal error');
      const body = this.route(req, url, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify(body));
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError(500, 9603, 'Internal error');
      this.refusals.push({ path: url.pathname, status: error.status, errorNumber: error.errorNumber });
      res.writeHead(error.status, { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify({ errorNumber: error.errorNumber, errorMessage: error.errorMessage }));
    }
  }

  private route(req: IncomingMessage, url: URL, raw: string): unknown {
    const header = req.headers.authorization ?? '';
    const sToken = /^Bearer (.+)$/.exec(header)?.[1] ?? '';
    const token = this.tokens.get(sToken);
    if (!token) throw new ApiError(401, 9622, 'Invalid authentication token');
    if (new Date(token.expDate.replace(/\+0000$/, 'Z')).getTime() < Date.now())
      throw new ApiError(401, 9624, 'Expired authentication token');
    const common = { tokenExpirationDate: token.expDate, uId: token.uId };
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const json = (): Record<string, unknown> => {
      if (!/^application\/json/i.test(req.headers['content-type'] ?? ''))
        throw new ApiError(400, 9600, 'Content-Type must be application/json');
      try {
        const v: unknown = JSON.parse(raw);
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        // answered below
      }
      throw new ApiError(400, 9600, 'Malformed request body');
    };
    if (path === '/mdm/v2/client/config' && method === 'GET') return this.config(token);
    if (path === '/mdm/v2/client/config' && method === 'POST') {
      const body = json();
      if (body.clientContext !== undefined) {
        if (typeof body.clientContext !== 'string' || body.clientContext.length > 256)
          throw new ApiError(400, 9600, 'clientContext must be a string of at most 256 characters');
        token.clientContext = body.clientContext;
      }
      if (body.notificationUrl !== undefined) {
        if (typeof body.notificationUrl !== 'string' || !body.notificationUrl.startsWith('https://'))
          throw new ApiError(400, 9600, 'notificationUrl must be an https URL');
        token.notificationUrl = body.notificationUrl;
      }
      return this.config(token);
    }
    if (path === '/mdm/v2/assets' && method === 'GET') {
      const filtered = [...this.assets.values()].filter(
        (a) =>
          (!url.searchParams.get('adamId') || a.adamId === url.searchParams.get('adamId')) &&
          (!url.searchParams.get('pricingParam') || a.pricingParam === url.searchParams.get('pricingParam')) &&
          (!url.searchParams.get('productType') || a.productType === url.searchParams.get('productType')),
      );
      const pageIndex = Number(url.searchParams.get('pageIndex') ?? 0);
      if (!Number.isInteger(pageIndex) || pageIndex < 0) throw new ApiError(400, 9600, 'Invalid pageIndex');
      const totalPages = Math.max(1, Math.ceil(filtered.length / PAGE_SIZE));
      return {
        assets: filtered.slice(pageIndex * PAGE_SIZE, (pageIndex + 1) * PAGE_SIZE).map((a) => this.assetView(a)),
        currentPageIndex: pageIndex,
        size: PAGE_SIZE,
        totalPages,
        ...(pageIndex + 1 < totalPages ? { nextPageIndex: pageIndex + 1 } : {}),
        versionId: String(this.versionId),
        ...common,
      };
    }
    if ((path === '/mdm/v2/assets/associate' || path === '/mdm/v2/assets/disassociate') && method === 'POST') {
      const associate = path.endsWith('/associate');
      const body = json();
      const assets = body.assets;
      if (!Array.isArray(assets) || assets.length === 0 || assets.length > 25)
        throw new ApiError(400, 9600, 'assets must list 1 to 25 assets');
      const wanted: FakeAsset[] = [];
      for (const a of assets as unknown[]) {
        const entry = a as { adamId?: unknown; pricingParam?: unknown } | null;
        if (typeof entry?.adamId !== 'string' || typeof entry.pricingParam !== 'string')
          throw new ApiError(400, 9600, 'Each asset needs adamId and pricingParam');
        const asset = this.assets.get(entry.adamId);
        if (!asset || asset.pricingParam !== entry.pricingParam)
          throw new ApiError(400, 9632, `The organisation does not own asset ${entry.adamId} (${entry.pricingParam})`);
        if (associate && !asset.deviceAssignable)
          throw new ApiError(400, 9610, `Asset ${asset.adamId} cannot be assigned to devices`);
        wanted.push(asset);
      }
      const serials = body.serialNumbers;
      const users = body.clientUserIds;
      if (serials !== undefined && users !== undefined)
        throw new ApiError(400, 9600, 'Give serialNumbers or clientUserIds, not both');
      if (users !== undefined) throw new ApiError(400, 9600, 'This fake handles device assignment only');
      if (!Array.isArray(serials) || serials.length === 0 || serials.length > 1000)
        throw new ApiError(400, 9600, 'serialNumbers must list 1 to 1,000 serial numbers');
      if (serials.some((s) => typeof s !== 'string' || s === ''))
        throw new ApiError(400, 9600, 'Each serial number must be a non-empty string');
      this.calls.push({ path, adamIds: wanted.map((a) => a.adamId), serialNumbers: serials as string[] });
      const outcome: EventOutcome = {
        eventStatus: 'COMPLETE',
        eventType: associate ? 'ASSOCIATE' : 'DISASSOCIATE',
        numCompleted: 0,
        numRequested: wanted.length * serials.length,
        failures: [],
      };
      for (const asset of wanted)
        for (const serial of serials as string[]) {
          const key = `${asset.adamId}:${serial}`;
          if (associate && !this.deviceAssignments.has(key)) {
            if (this.assignedCount(asset.adamId) >= asset.totalCount) {
              outcome.failures.push({
                adamId: asset.adamId,
                pricingParam: asset.pricingParam,
                serialNumber: serial,
                errorNumber: 9709,
                errorMessage: 'Insufficient licenses',
              });
              continue;
            }
            this.deviceAssignments.add(key);
          }
          if (!associate) this.deviceAssignments.delete(key);
          outcome.numCompleted++;
        }
      if (outcome.failures.length > 0) outcome.eventStatus = 'FAILED';
      const eventId = randomUUID();
      this.events.set(eventId, outcome);
      return { eventId, ...common };
    }
    if (path === '/mdm/v2/status' && method === 'GET') {
      const outcome = this.events.get(url.searchParams.get('eventId') ?? '');
      if (!outcome) throw new ApiError(400, 9600, 'Unknown eventId');
      return { ...outcome, ...common };
    }
    if (path === '/mdm/v2/assignments' && method === 'GET') {
      const adamId = url.searchParams.get('adamId');
      const serial = url.searchParams.get('serialNumber');
      const assignments = [...this.deviceAssignments]
        .map((k) => k.split(':'))
        .filter(([a, s]) => (!adamId || a === adamId) && (!serial || s === serial))
        .map(([a, s]) => ({ adamId: a, pricingParam: this.assets.get(a)?.pricingParam ?? 'STDQ', serialNumber: s }));
      return { assignments, currentPageIndex: 0, size: assignments.length, totalPages: 1, ...common };
    }
    throw new ApiError(404, 9600, `No such endpoint ${method} ${path}`);
  }

  private config(token: Token): unknown {
    return {
      ...(token.clientContext !== undefined ? { clientContext: token.clientContext } : {}),
      countryISO2ACode: 'FR',
      defaultPlatform: 'volumestore',
      locationName: token.locationName,
      notificationTypes: [],
      ...(token.notificationUrl ? { notificationUrl: token.notificationUrl } : {}),
      tokenExpirationDate: token.expDate,
      uId: token.uId,
    };
  }
}

export async function startFakeAppsAndBooks(port = 0): Promise<FakeAppsAndBooks> {
  return new FakeAppsAndBooks().start(port);
}
