/**
 * A simulated supervised iPhone speaking Apple's MDM check-in and command protocols.
 *
 * - Check-in (PUT CheckInURL, `application/x-apple-aspen-mdm-checkin`): Authenticate,
 *   TokenUpdate, CheckOut. Commands (PUT ServerURL, `application/x-apple-aspen-mdm`): `poll()`
 *   sends `{UDID, Status: Idle}`, then answers each command the server returns until the server
 *   answers 200 with an empty body.
 * - Every body is an XML plist; with `signRequests` (default true; from an enrollment profile:
 *   its SignMessage) each request carries `Mdm-Signature`, a detached CMS signature of the exact
 *   body by the device identity (cms.ts).
 * - Every command is validated against Apple's schema (apple-schema.ts), and so is every answer
 *   of the device and every profile payload it installs: violations go to `schemaViolations`.
 * - Commands: InstallProfile, RemoveProfile, ProfileList, InstalledApplicationList,
 *   ManagedApplicationList, DeviceInformation, InstallApplication, RemoveApplication. Unknown
 *   RequestType → Error. A command missing a required key or with a wrongly typed value →
 *   CommandFormatError. Commands outside the enrollment's AccessRights → Error. With
 *   `notNowRate` the device answers NotNow at random and stops polling (like a locked device;
 *   `notNowRetryMs` makes it come back).
 * - `connectTo(fakeApns)`: a push with this device's token and PushMagic wakes it (polls).
 *
 * Error codes in ErrorChain are plausible, not Apple's exact ones.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent as HttpAgent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, RequestOptions } from 'node:https';
import plist, { PlistValue } from 'plist';
import {
  appleSchema,
  validateCheckin,
  validateCommand,
  validateCommandResponse,
  validateProfile,
  validateProfilePayload,
  Violation,
} from './apple-schema';
import { CmsAttachedResult, signDetached } from './cms';
import type { FakeApns } from './fake-apns';
import { buildPlist, compact, isPlistDict, parseMobileconfig, payloadsOf, PlistDict } from './mobileconfig';
import { identityFromPkcs12 } from './pki';
// A cycle (scep-client builds phones), harmless: each side uses the other only inside functions.
import { noteScepExchange, scepEnroll, scepPayloadOf } from './scep-client';

export type CommandStatus = 'Acknowledged' | 'Error' | 'CommandFormatError' | 'NotNow';

export interface AppSpec {
  bundleId: string;
  name?: string;
  managed?: boolean;
  version?: string;
  shortVersion?: string;
  bundleSize?: number;
  iTunesStoreID?: number;
}

export interface SimulatedApp {
  bundleId: string;
  name: string;
  version: string;
  shortVersion: string;
  bundleSize: number;
  managed: boolean;
  iTunesStoreID?: number;
  managementFlags: number;
  hasConfiguration: boolean;
  /** Attributes.Removable = false from InstallApplication. */
  removable: boolean;
}

export interface InstalledProfile {
  identifier: string;
  uuid: string;
  version: number;
  displayName?: string;
  organization?: string;
  description?: string;
  removalDisallowed: boolean;
  payloads: PlistDict[];
  /** DER certificates of the signer chain, if the profile was signed. */
  signerCertificates: Buffer[];
  /** Installed by the MDM (InstallProfile) rather than by the user (the enrollment profile). */
  managed: boolean;
  installedAt: Date;
  profile: PlistDict;
}

export interface CommandRecord {
  RequestType: string;
  CommandUUID: string;
  status: CommandStatus;
  at: Date;
  /** The Command dictionary as received. */
  command: PlistDict;
  /** The device's answer (without the envelope keys UDID, CommandUUID, Status). */
  response: PlistDict;
}

export interface SchemaViolation extends Violation {
  /** command: a command from the server; payload/profile: a profile it installed; response/checkin: the simulator's own messages (a bug of the simulator); enrollment: the enrollment profile. */
  source: 'command' | 'payload' | 'profile' | 'response' | 'checkin' | 'enrollment';
  requestType?: string;
  commandUUID?: string;
  payloadType?: string;
  profileIdentifier?: string;
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface PollResult {
  /** Sequence number of the poll session (1, 2, ...). */
  session: number;
  commands: CommandRecord[];
  /** empty: the server had nothing more; notNow: the device answered NotNow; http: non-200 answer; malformed: unreadable answer; limit: maxCommandsPerPoll. */
  stoppedBy: 'empty' | 'notNow' | 'http' | 'malformed' | 'limit';
  httpStatus: number;
  /** Body of the last answer when stoppedBy is http/malformed. */
  errorBody?: string;
}

export interface SimulatedIPhoneOptions {
  udid?: string;
  serial?: string;
  /** Hardware identifier, sent as ProductName (default 'iPhone15,2'). */
  model?: string;
  /** `Model` (model number) of DeviceInformation (default 'MQ0G3ZD/A'). */
  modelNumber?: string;
  deviceName?: string;
  osVersion?: string;
  /** Default: the iOS build of osVersion (18.1 → 22B83) when known. */
  buildVersion?: string;
  /** Default true. Supervised-only restrictions (blockedAppBundleIDs, allowListedAppBundleIDs) apply only then. */
  supervised?: boolean;
  installedApps?: AppSpec[];
  /** Apps InstallApplication can install by iTunesStoreID. Unknown IDs install `store.app.<id>`. */
  storeApps?: { iTunesStoreID: number; bundleId: string; name?: string; version?: string }[];
  /** Probability (0..1) of answering a command NotNow. */
  notNowRate?: number;
  /** Poll again this long after a NotNow (default: no automatic retry). */
  notNowRetryMs?: number;
  /**
   * Poll again this long after a poll session that got no answer or a 5xx (default: no automatic
   * retry). iOS retries a check-in it could not complete; without this, a server outage while the
   * device wakes leaves it waiting for the next push.
   */
  retryFailedPollMs?: number;
  /** Random source (default Math.random). */
  random?: () => number;
  identity: { certPem: string; keyPem: string };
  checkInUrl: string;
  serverUrl: string;
  topic: string;
  /** Default 32 random bytes. */
  pushToken?: Buffer;
  /** Default a random UUID (upper case, like iOS). */
  pushMagic?: string;
  /** Default true. */
  signRequests?: boolean;
  /** AccessRights of the enrollment (default 8191: all). */
  accessRights?: number;
  /** For https URLs: trusted CA(s) and whether to present the identity as TLS client certificate (default true). */
  tls?: { ca?: string | string[]; clientCertificate?: boolean; rejectUnauthorized?: boolean };
  /** Default 30 s. */
  timeoutMs?: number;
  /** Added to every request. */
  extraHeaders?: Record<string, string>;
  /** Safety limit of commands in one poll session (default 1000). */
  maxCommandsPerPoll?: number;
  /** TokenUpdate AwaitingConfiguration (default false). */
  awaitingConfiguration?: boolean;
}

export interface EnrollmentProfileSimOptions extends Partial<SimulatedIPhoneOptions> {
  /** PKCS#12 password if the profile does not carry it. */
  identityPassword?: string;
}

export interface EnrollmentInfo {
  profile: PlistDict;
  mdmPayload: PlistDict;
  signed: boolean;
  signature?: CmsAttachedResult;
}

/** AccessRights bits (com.apple.mdm payload) by the names the YAML uses in `accessrights`. */
export const ACCESS_RIGHTS: Record<string, number> = {
  AllowInspection: 1,
  AllowInstallationRemoval: 2,
  AllowPasscodeRemovalAndLock: 4,
  AllowErase: 8,
  AllowQueryDeviceInformation: 16,
  AllowQueryNetworkInformation: 32,
  AllowProvisioningInspection: 64,
  AllowProvisioningInstallation: 128,
  AllowQueryApplications: 256,
  AllowRestrictionsQuery: 512,
  AllowSecurityQuery: 1024,
  AllowSettingsManipulation: 2048,
  AllowAppInstallation: 4096,
};

const BUILDS: Record<string, string> = {
  '17.6.1': '21G93',
  '18.0': '22A3354',
  '18.0.1': '22A3370',
  '18.1': '22B83',
  '18.1.1': '22B91',
  '18.2': '22C152',
};

/**
 * Known inaccuracies of the reference YAML the simulator does not reproduce (it answers like a
 * real device): ManagedApplicationList marks UnusedRedemptionCode as required although iOS only
 * sends it when there is one.
 */
const YAML_DEVIATIONS: { requestType: string; path: RegExp }[] = [
  { requestType: 'ManagedApplicationList', path: /^ManagedApplicationList\[.*\]\.UnusedRedemptionCode$/ },
];

const QUERY_KEYS = [
  'UDID',
  'IsSupervised',
  'OSVersion',
  'BuildVersion',
  'ModelName',
  'Model',
  'ProductName',
  'SerialNumber',
  'DeviceName',
] as const;

/**
 * Kept-alive sockets are dropped after 4 s idle (`timeout` closes only idle ones), before a Node
 * server's 5 s keep-alive timeout: a request never goes out on a socket the server is closing,
 * which was answered "socket hang up" under load.
 */
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256, timeout: 4000 });

function randomUdid(): string {
  return `00008120-${randomBytes(8).toString('hex').toUpperCase()}`;
}

function randomSerial(): string {
  const alphabet = 'CDFGHJKLMNPQRTVWXY0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

function errorChain(domain: string, code: number, description: string): PlistDict {
  return {
    ErrorChain: [
      { ErrorCode: code, ErrorDomain: domain, LocalizedDescription: description, USEnglishDescription: description },
    ],
  };
}

interface Outcome {
  status: CommandStatus;
  response: PlistDict;
}

const ack = (response: PlistDict = {}): Outcome => ({ status: 'Acknowledged', response });
const fail = (domain: string, code: number, description: string, extra: PlistDict = {}): Outcome => ({
  status: 'Error',
  response: { ...extra, ...errorChain(domain, code, description) },
});

export class SimulatedIPhone {
  readonly udid: string;
  readonly serial: string;
  readonly pushToken: Buffer;
  readonly pushMagic: string;
  readonly topic: string;
  readonly checkInUrl: string;
  readonly serverUrl: string;
  /** Set by fromEnrollmentProfile. */
  enrollment?: EnrollmentInfo;
  /** Answers the server sent after a NotNow (a real device would not process them). */
  readonly ignoredAfterNotNow: PlistValue[] = [];

  private readonly apps = new Map<string, SimulatedApp>();
  private readonly installed = new Map<string, InstalledProfile>();
  private readonly commands: CommandRecord[] = [];
  private readonly violations: SchemaViolation[] = [];
  private readonly random: () => number;
  private sessionCount = 0;
  private running: Promise<PollResult> | null = null;
  private queued: Promise<PollResult> | null = null;
  private readonly pollWaiters: { after: number; resolve: (r: PollResult) => void }[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly unsubscribers: (() => void)[] = [];
  private blocked: string[] = [];
  private allowListed: string[] | null = null;

  // Not readonly: an enrollment profile reinstalled by MDM replaces the identity (replaceEnrollment).
  constructor(private options: SimulatedIPhoneOptions) {
    this.udid = options.udid ?? randomUdid();
    this.serial = options.serial ?? randomSerial();
    this.pushToken = options.pushToken ?? randomBytes(32);
    this.pushMagic = options.pushMagic ?? randomUUID().toUpperCase();
    this.topic = options.topic;
    this.checkInUrl = options.checkInUrl;
    this.serverUrl = options.serverUrl;
    this.random = options.random ?? Math.random;
    for (const app of options.installedApps ?? []) this.addApp(app);
  }

  /**
   * A device enrolled with `mobileconfig` (XML text, or the DER of a signed profile as a Buffer):
   * ServerURL, CheckInURL, Topic, SignMessage, AccessRights from the com.apple.mdm payload, the
   * identity from the com.apple.security.pkcs12 payload whose PayloadUUID is
   * IdentityCertificateUUID. Options override (e.g. `signRequests`).
   */
  static fromEnrollmentProfile(
    mobileconfig: string | Buffer,
    options: EnrollmentProfileSimOptions = {},
  ): SimulatedIPhone {
    const parsed = parseMobileconfig(mobileconfig);
    // iOS refuses to install a signed profile whose signature does not hold (changed on the way).
    if (parsed.signed && !parsed.signature?.ok)
      throw new Error(`the enrollment profile's signature is invalid: ${parsed.signature?.reason ?? ''}`);
    const payloads = payloadsOf(parsed.profile);
    const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm');
    if (!mdm) throw new Error('the profile has no com.apple.mdm payload');
    const text = (key: string, required: boolean): string | undefined => {
      const value = mdm[key];
      if (value === undefined && !required) return undefined;
      if (typeof value !== 'string' || value === '')
        throw new Error(`com.apple.mdm payload: ${key} missing or not a string`);
      return value;
    };
    const serverUrl = text('ServerURL', true) as string;
    const checkInUrl = text('CheckInURL', false) ?? serverUrl;
    const topic = text('Topic', true) as string;
    const identityUuid = text('IdentityCertificateUUID', true) as string;
    const identityPayload = payloads.find((p) => p.PayloadUUID === identityUuid);
    let identity = options.identity;
    if (!identity) {
      if (!identityPayload) throw new Error(`no payload with PayloadUUID ${identityUuid} (IdentityCertificateUUID)`);
      if (identityPayload.PayloadType === 'com.apple.security.scep')
        throw new Error(
          'identity payload is com.apple.security.scep: install the profile with installEnrollmentProfile (scep-client.ts), which runs the SCEP exchange',
        );
      if (identityPayload.PayloadType !== 'com.apple.security.pkcs12') {
        throw new Error(
          `identity payload is ${String(identityPayload.PayloadType)}; only com.apple.security.pkcs12 is supported (pass options.identity)`,
        );
      }
      const p12 = identityPayload.PayloadContent;
      if (!Buffer.isBuffer(p12)) throw new Error('com.apple.security.pkcs12: PayloadContent is not <data>');
      const password =
        options.identityPassword ?? (typeof identityPayload.Password === 'string' ? identityPayload.Password : '');
      const decoded = identityFromPkcs12(p12, password);
      identity = { certPem: decoded.certPem, keyPem: decoded.keyPem };
    }
    const accessRights = typeof mdm.AccessRights === 'number' ? mdm.AccessRights : undefined;
    const device = new SimulatedIPhone({
      ...options,
      identity,
      serverUrl: options.serverUrl ?? serverUrl,
      checkInUrl: options.checkInUrl ?? checkInUrl,
      topic: options.topic ?? topic,
      signRequests: options.signRequests ?? mdm.SignMessage === true,
      accessRights: options.accessRights ?? accessRights,
    });
    device.enrollment = {
      profile: parsed.profile,
      mdmPayload: mdm,
      signed: parsed.signed,
      signature: parsed.signature,
    };
    if (typeof mdm.AccessRights !== 'number')
      device.violations.push({
        source: 'enrollment',
        path: 'AccessRights',
        message: 'required key missing',
        kind: 'missing',
      });
    for (const v of validateProfile(parsed.profile)) device.violations.push({ ...v, source: 'enrollment' });
    return device;
  }

  // -------------------------------------------------------------------------------------------
  // State

  get pushTokenHex(): string {
    return this.pushToken.toString('hex');
  }

  get supervised(): boolean {
    return this.options.supervised ?? true;
  }

  get osVersion(): string {
    return this.options.osVersion ?? '18.1';
  }

  get buildVersion(): string {
    return this.options.buildVersion ?? BUILDS[this.osVersion] ?? '22B83';
  }

  get installedApps(): SimulatedApp[] {
    return [...this.apps.values()].map((a) => ({ ...a }));
  }

  get profiles(): InstalledProfile[] {
    return [...this.installed.values()];
  }

  /** Union of blockedAppBundleIDs of the installed restrictions (empty if unsupervised). */
  get blockedBundleIds(): string[] {
    return [...this.blocked];
  }

  /** Intersection of allowListedAppBundleIDs of the installed restrictions; null: no allow list (or unsupervised). */
  get allowListedBundleIds(): string[] | null {
    return this.allowListed ? [...this.allowListed] : null;
  }

  get commandsReceived(): { RequestType: string; CommandUUID: string; status: CommandStatus }[] {
    return this.commands.map((c) => ({ RequestType: c.RequestType, CommandUUID: c.CommandUUID, status: c.status }));
  }

  /** Full records (command dictionaries and answers). */
  get commandLog(): CommandRecord[] {
    return [...this.commands];
  }

  get schemaViolations(): SchemaViolation[] {
    return [...this.violations];
  }

  /** Whether the app can be shown/launched under the current restrictions. */
  isAppAllowed(bundleId: string): boolean {
    if (this.blocked.includes(bundleId)) return false;
    return this.allowListed === null || this.allowListed.includes(bundleId);
  }

  /** Simulates the user installing an app from the App Store (unmanaged). */
  userInstallsApp(app: AppSpec): void {
    this.addApp({ ...app, managed: false });
  }

  /** Simulates the user deleting an app. */
  userRemovesApp(bundleId: string): boolean {
    return this.apps.delete(bundleId);
  }

  // -------------------------------------------------------------------------------------------
  // Check-in

  authenticate(): Promise<HttpResult> {
    return this.checkin({
      MessageType: 'Authenticate',
      Topic: this.topic,
      UDID: this.udid,
      BuildVersion: this.buildVersion,
      OSVersion: this.osVersion,
      ProductName: this.options.model ?? 'iPhone15,2',
      SerialNumber: this.serial,
      Model: this.options.modelNumber ?? 'MQ0G3ZD/A',
      ModelName: 'iPhone',
      DeviceName: this.deviceName,
    });
  }

  tokenUpdate(): Promise<HttpResult> {
    return this.checkin({
      MessageType: 'TokenUpdate',
      Topic: this.topic,
      UDID: this.udid,
      Token: this.pushToken,
      PushMagic: this.pushMagic,
      AwaitingConfiguration: this.options.awaitingConfiguration ?? false,
    });
  }

  checkOut(): Promise<HttpResult> {
    return this.checkin({ MessageType: 'CheckOut', Topic: this.topic, UDID: this.udid });
  }

  /** Authenticate then TokenUpdate; throws unless both are answered 200. */
  async enroll(): Promise<void> {
    for (const step of [() => this.authenticate(), () => this.tokenUpdate()]) {
      const result = await step();
      if (result.status !== 200)
        throw new Error(`enrollment refused: HTTP ${result.status} ${result.body.toString('utf8').slice(0, 200)}`);
    }
  }

  private get deviceName(): string {
    return this.options.deviceName ?? `iPhone ${this.serial.slice(-4)}`;
  }

  private checkin(message: PlistDict): Promise<HttpResult> {
    const type = String(message.MessageType);
    for (const v of validateCheckin(type, message))
      this.violations.push({ ...v, source: 'checkin', requestType: type });
    return this.send(this.checkInUrl, message, 'application/x-apple-aspen-mdm-checkin');
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  /** Signs (unless disabled) and PUTs `body` (a dictionary, built as XML plist, or raw bytes). */
  async send(
    url: string,
    body: PlistDict | Buffer,
    contentType = 'application/x-apple-aspen-mdm',
    signature?: string | null,
  ): Promise<HttpResult> {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(buildPlist(body), 'utf8');
    const headers: Record<string, string> = {
      'content-type': contentType,
      'content-length': String(bytes.length),
      'user-agent': 'MDM/1.0',
      ...(this.options.extraHeaders ?? {}),
    };
    const sig =
      signature !== undefined
        ? signature
        : (this.options.signRequests ?? true)
          ? signDetached(bytes, this.options.identity)
          : null;
    if (sig !== null) headers['mdm-signature'] = sig;
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const requestOptions: RequestOptions = {
      method: 'PUT',
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || (https ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      headers,
      timeout: this.options.timeoutMs ?? 30_000,
    };
    if (https) {
      const tls = this.options.tls ?? {};
      Object.assign(requestOptions, {
        agent: httpsAgent,
        ca: tls.ca,
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
        ...(tls.clientCertificate === false
          ? {}
          : { cert: this.options.identity.certPem, key: this.options.identity.keyPem }),
      });
    } else {
      requestOptions.agent = httpAgent;
    }
    return new Promise<HttpResult>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: no answer after ${requestOptions.timeout} ms`)));
      req.on('error', reject);
      req.end(bytes);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Polling

  /** One poll session (coalesced: while one runs, further calls share the next one). */
  poll(): Promise<PollResult> {
    if (!this.running) {
      const run = this.session()
        .then(
          (result) => {
            if (result.stoppedBy === 'http' && result.httpStatus >= 500)
              this.retryLater(this.options.retryFailedPollMs);
            return result;
          },
          (error: unknown) => {
            this.retryLater(this.options.retryFailedPollMs);
            throw error;
          },
        )
        .finally(() => {
          if (this.running === run) this.running = null;
        });
      this.running = run;
      return run;
    }
    if (!this.queued) {
      this.queued = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return this.poll();
        });
    }
    return this.queued;
  }

  private retryLater(ms: number | undefined): void {
    if (ms === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.poll().catch(() => undefined);
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** What an APNs push does: the device polls. */
  wake(): Promise<PollResult> {
    return this.poll();
  }

  /** Resolves when a poll session that starts after this call has ended. */
  waitForPoll(timeoutMs = 10_000): Promise<PollResult> {
    const after = this.sessionCount;
    return new Promise((resolve, reject) => {
      const waiter = {
        after,
        resolve: (r: PollResult) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        const i = this.pollWaiters.indexOf(waiter);
        if (i >= 0) this.pollWaiters.splice(i, 1);
        reject(new Error(`${this.udid}: no poll within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pollWaiters.push(waiter);
    });
  }

  /** Resolves once no poll session is running or queued. */
  async whenIdle(): Promise<void> {
    while (this.running || this.queued) await (this.queued ?? this.running)?.catch(() => undefined);
  }

  /** Wakes this device when the fake APNs accepts a push for its token with its PushMagic. */
  connectTo(apns: FakeApns): () => void {
    const off = apns.onPush((token, pushMagic) => {
      if (token === this.pushTokenHex && pushMagic === this.pushMagic) {
        this.wake().catch(() => undefined);
      }
    });
    this.unsubscribers.push(off);
    return off;
  }

  /** Disconnects from APNs fakes and cancels pending NotNow retries. */
  dispose(): void {
    for (const off of this.unsubscribers.splice(0)) off();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * The same device (identity, signatures) claiming another UDID in its messages: for testing
   * that the server binds the signing certificate to the enrolled UDID.
   */
  impersonate(udid: string): SimulatedIPhone {
    return new SimulatedIPhone({
      ...this.options,
      udid,
      serial: undefined,
      pushToken: undefined,
      pushMagic: undefined,
    });
  }

  /** The same device signing with another identity (e.g. one issued by a CA the server does not trust). */
  withIdentity(identity: { certPem: string; keyPem: string }): SimulatedIPhone {
    return new SimulatedIPhone({ ...this.options, identity });
  }

  private async session(): Promise<PollResult> {
    const session = ++this.sessionCount;
    const result: PollResult = { session, commands: [], stoppedBy: 'empty', httpStatus: 0 };
    let message: PlistDict = { UDID: this.udid, Status: 'Idle' };
    let notNow = false;
    const limit = this.options.maxCommandsPerPoll ?? 1000;
    try {
      for (;;) {
        const answer = await this.send(this.serverUrl, message);
        result.httpStatus = answer.status;
        if (answer.status !== 200) {
          result.stoppedBy = 'http';
          result.errorBody = answer.body.toString('utf8').slice(0, 2000);
          break;
        }
        const text = answer.body.toString('utf8');
        if (text.trim() === '') {
          result.stoppedBy = notNow ? 'notNow' : 'empty';
          break;
        }
        let parsed: PlistValue;
        try {
          parsed = plist.parse(text);
        } catch {
          result.stoppedBy = 'malformed';
          result.errorBody = text.slice(0, 2000);
          this.violations.push({
            source: 'command',
            path: '(body)',
            message: 'the server answered a body that is not a property list',
            kind: 'type',
          });
          break;
        }
        if (notNow) {
          this.ignoredAfterNotNow.push(parsed);
          result.stoppedBy = 'notNow';
          break;
        }
        if (result.commands.length >= limit) {
          result.stoppedBy = 'limit';
          break;
        }
        const { record, reply } = await this.execute(parsed);
        if (record) result.commands.push(record);
        message = reply;
        notNow = reply.Status === 'NotNow';
      }
    } finally {
      for (let i = this.pollWaiters.length - 1; i >= 0; i--) {
        if (session > this.pollWaiters[i].after) this.pollWaiters.splice(i, 1)[0].resolve(result);
      }
    }
    if (result.stoppedBy === 'notNow') this.retryLater(this.options.notNowRetryMs);
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  private async execute(envelope: PlistValue): Promise<{ record?: CommandRecord; reply: PlistDict }> {
    const base = { UDID: this.udid };
    if (
      !isPlistDict(envelope) ||
      typeof envelope.CommandUUID !== 'string' ||
      !isPlistDict(envelope.Command) ||
      typeof envelope.Command.RequestType !== 'string'
    ) {
      this.violations.push({
        source: 'command',
        path: '(envelope)',
        message: 'not {CommandUUID: <string>, Command: {RequestType: <string>, ...}}',
        kind: 'type',
      });
      const uuid = isPlistDict(envelope) && typeof envelope.CommandUUID === 'string' ? envelope.CommandUUID : undefined;
      return { reply: compact({ ...base, CommandUUID: uuid, Status: 'CommandFormatError' }) };
    }
    const commandUUID = envelope.CommandUUID;
    const command = envelope.Command;
    const requestType = String(command.RequestType);
    const context = { requestType, commandUUID };
    for (const key of Object.keys(envelope)) {
      if (key !== 'CommandUUID' && key !== 'Command')
        this.violations.push({
          ...context,
          source: 'command',
          path: `(envelope).${key}`,
          message: 'key not in the command envelope',
          kind: 'unknown',
        });
    }
    const known = appleSchema().commands.get(requestType);
    const violations = known ? validateCommand(requestType, command) : [];
    for (const v of violations) this.violations.push({ ...v, ...context, source: 'command' });

    let outcome: Outcome;
    const right = known?.accessRights ? ACCESS_RIGHTS[known.accessRights] : undefined;
    const rights = this.options.accessRights ?? 8191;
    if (!known || !this.handlers[requestType]) {
      outcome = fail('MCMDMErrorDomain', 12021, `Unknown command “${requestType}”.`);
    } else if (violations.some((v) => v.kind === 'missing' || v.kind === 'type')) {
      outcome = { status: 'CommandFormatError', response: {} };
    } else if (right !== undefined && (rights & right) === 0) {
      outcome = fail(
        'MCMDMErrorDomain',
        12005,
        `The MDM enrollment does not have the ${known.accessRights} access right.`,
      );
    } else if (this.options.notNowRate && this.random() < this.options.notNowRate) {
      outcome = { status: 'NotNow', response: {} };
    } else {
      outcome = await this.handlers[requestType](command);
    }

    const reply = compact({ ...base, CommandUUID: commandUUID, Status: outcome.status, ...outcome.response });
    if (known) {
      for (const v of validateCommandResponse(requestType, reply)) {
        if (YAML_DEVIATIONS.some((d) => d.requestType === requestType && d.path.test(v.path))) continue;
        this.violations.push({ ...v, ...context, source: 'response' });
      }
    }
    const record: CommandRecord = {
      RequestType: requestType,
      CommandUUID: commandUUID,
      status: outcome.status,
      at: new Date(),
      command,
      response: outcome.response,
    };
    this.commands.push(record);
    return { record, reply };
  }

  private readonly handlers: Record<string, (command: PlistDict) => Outcome | Promise<Outcome>> = {
    InstallProfile: (c) => this.installProfile(c),
    RemoveProfile: (c) => this.removeProfile(c),
    ProfileList: (c) => this.profileList(c),
    InstalledApplicationList: (c) => this.installedApplicationList(c),
    ManagedApplicationList: (c) => this.managedApplicationList(c),
    DeviceInformation: (c) => this.deviceInformation(c),
    InstallApplication: (c) => this.installApplication(c),
    RemoveApplication: (c) => this.removeApplication(c),
  };

  private installProfile(command: PlistDict): Outcome | Promise<Outcome> {
    const data = command.Payload;
    if (!Buffer.isBuffer(data)) return fail('MCProfileErrorDomain', 1000, 'The profile is not <data>.');
    let parsed;
    try {
      parsed = parseMobileconfig(data);
    } catch (error) {
      return fail('MCProfileErrorDomain', 1000, `The profile is malformed: ${(error as Error).message}`);
    }
    if (parsed.signed && !parsed.signature?.ok)
      return fail('MCProfileErrorDomain', 1011, `The profile signature is invalid: ${parsed.signature?.reason ?? ''}`);
    const profile = parsed.profile;
    const identifier = typeof profile.PayloadIdentifier === 'string' ? profile.PayloadIdentifier : undefined;
    const ctx = { requestType: 'InstallProfile', profileIdentifier: identifier };
    const topViolations = validateProfile(profile);
    for (const v of topViolations) this.violations.push({ ...v, ...ctx, source: 'profile' });
    if (profile.PayloadType !== 'Configuration' || !identifier || typeof profile.PayloadUUID !== 'string') {
      return fail(
        'MCProfileErrorDomain',
        1000,
        'The profile is malformed (PayloadType Configuration, PayloadIdentifier and PayloadUUID are required).',
      );
    }
    if (profile.EncryptedPayloadContent !== undefined)
      return fail('MCProfileErrorDomain', 1000, 'Encrypted profiles are not supported by the simulator.');
    const payloads = payloadsOf(profile);
    let invalid: Violation | undefined;
    for (const [i, payload] of payloads.entries()) {
      const type = typeof payload.PayloadType === 'string' ? payload.PayloadType : '';
      if (!appleSchema().profiles.has(type)) continue;
      for (const v of validateProfilePayload(type, payload)) {
        this.violations.push({
          ...v,
          ...ctx,
          path: `PayloadContent[${i}].${v.path}`,
          source: 'payload',
          payloadType: type,
        });
        if (v.kind === 'missing' || v.kind === 'type' || v.kind === 'range') invalid ??= v;
      }
    }
    if (invalid)
      return fail('MCPayloadErrorDomain', 2003, `The payload is invalid: ${invalid.path}: ${invalid.message}`);
    if (payloads.some((p) => p.PayloadType === 'com.apple.mdm'))
      return this.replaceEnrollment(parsed, payloads, identifier);
    this.installed.set(identifier, {
      identifier,
      uuid: profile.PayloadUUID,
      version: typeof profile.PayloadVersion === 'number' ? profile.PayloadVersion : 1,
      displayName: typeof profile.PayloadDisplayName === 'string' ? profile.PayloadDisplayName : undefined,
      organization: typeof profile.PayloadOrganization === 'string' ? profile.PayloadOrganization : undefined,
      description: typeof profile.PayloadDescription === 'string' ? profile.PayloadDescription : undefined,
      removalDisallowed: profile.PayloadRemovalDisallowed === true,
      payloads,
      signerCertificates: parsed.signed ? (parsed.signature?.certificatesPem ?? []).map(pemToDer) : [],
      managed: true,
      installedAt: new Date(),
      profile,
    });
    this.recomputeRestrictions();
    return ack();
  }

  /**
   * An InstallProfile carrying a com.apple.mdm payload, as iOS treats it. It can only replace the
   * enrollment profile in place (same PayloadIdentifier: a device has one MDM enrollment), with the
   * same ServerURL, CheckInURL and Topic, and without adding or removing the per-user-connections
   * capability (Apple, MDM payload: "When updating the payload, the value of this key must not
   * change. Any change is an error, and the update is rejected"); the identity it names
   * (IdentityCertificateUUID) must be in the profile. iOS then checks in with the new identity,
   * Authenticate then TokenUpdate, and signs everything with it from then on, the command's answer
   * included; a check-in the server refuses fails the installation and the previous profile, with
   * its identity, stays. A com.apple.security.scep identity is obtained first (scep-client.ts): a
   * failed SCEP exchange fails the installation the same way.
   */
  private async replaceEnrollment(
    parsed: ReturnType<typeof parseMobileconfig>,
    payloads: PlistDict[],
    identifier: string,
  ): Promise<Outcome> {
    const current = this.enrollment;
    const mdm = payloads.filter((p) => p.PayloadType === 'com.apple.mdm');
    if (mdm.length !== 1) return fail('MCProfileErrorDomain', 1009, 'A profile can contain only one MDM payload.');
    if (!current || current.profile.PayloadIdentifier !== identifier)
      return fail(
        'MCMDMErrorDomain',
        12004,
        'The device is already managed: a profile with an MDM payload can only replace the enrollment profile (same PayloadIdentifier).',
      );
    const next = mdm[0];
    const checkIn = (p: PlistDict): PlistValue | undefined => p.CheckInURL ?? p.ServerURL;
    for (const [key, before, after] of [
      ['ServerURL', current.mdmPayload.ServerURL, next.ServerURL],
      ['CheckInURL', checkIn(current.mdmPayload), checkIn(next)],
      ['Topic', current.mdmPayload.Topic, next.Topic],
    ] as const) {
      if (before !== after)
        return fail(
          'MCMDMErrorDomain',
          12011,
          `The MDM payload cannot be updated: its ${key} changed (${String(before)} → ${String(after)}).`,
        );
    }
    const perUser = (p: PlistDict): boolean =>
      Array.isArray(p.ServerCapabilities) && p.ServerCapabilities.includes('com.apple.mdm.per-user-connections');
    if (perUser(current.mdmPayload) !== perUser(next))
      return fail(
        'MCMDMErrorDomain',
        12011,
        'The MDM payload cannot be updated: the com.apple.mdm.per-user-connections capability was added or removed.',
      );
    const identityPayload = payloads.find((p) => p.PayloadUUID === next.IdentityCertificateUUID);
    if (!identityPayload)
      return fail(
        'MCMDMErrorDomain',
        12008,
        `The MDM payload's identity (IdentityCertificateUUID ${String(next.IdentityCertificateUUID)}) is not in the profile.`,
      );
    let identity: { certPem: string; keyPem: string };
    if (identityPayload.PayloadType === 'com.apple.security.scep') {
      // As iOS: the new key is made on the phone and certified over SCEP before the profile is installed.
      try {
        const obtained = await scepEnroll(scepPayloadOf(identityPayload));
        noteScepExchange(this, obtained);
        identity = { certPem: obtained.certPem, keyPem: obtained.keyPem };
      } catch (error) {
        return fail(
          'MCSCEPErrorDomain',
          22013,
          `The SCEP server returned an invalid response: ${(error as Error).message}`,
        );
      }
    } else if (
      identityPayload.PayloadType === 'com.apple.security.pkcs12' &&
      Buffer.isBuffer(identityPayload.PayloadContent)
    ) {
      try {
        const password = typeof identityPayload.Password === 'string' ? identityPayload.Password : '';
        const decoded = identityFromPkcs12(identityPayload.PayloadContent, password);
        identity = { certPem: decoded.certPem, keyPem: decoded.keyPem };
      } catch (error) {
        return fail('MCKeychainErrorDomain', 9000, `The identity cannot be imported: ${(error as Error).message}`);
      }
    } else
      return fail(
        'MCProfileErrorDomain',
        1000,
        `The identity payload is ${String(identityPayload.PayloadType)}; the simulator renews com.apple.security.pkcs12 and com.apple.security.scep identities only.`,
      );
    const previous = this.options;
    this.options = { ...previous, identity, signRequests: previous.signRequests ?? next.SignMessage === true };
    for (const step of [() => this.authenticate(), () => this.tokenUpdate()]) {
      const answer = await step();
      if (answer.status !== 200) {
        this.options = previous;
        return fail(
          'MCMDMErrorDomain',
          12021,
          `The MDM server for your organization returned an unexpected status (${answer.status}).`,
        );
      }
    }
    this.enrollment = { profile: parsed.profile, mdmPayload: next, signed: parsed.signed, signature: parsed.signature };
    return ack();
  }

  /** The identity the device signs with now (it changes when MDM reinstalls the enrollment profile). */
  get identity(): { certPem: string; keyPem: string } {
    return this.options.identity;
  }

  private removeProfile(command: PlistDict): Outcome {
    const identifier = String(command.Identifier);
    if (!this.installed.delete(identifier))
      return fail('MCProfileErrorDomain', 1003, `The profile “${identifier}” is not installed.`);
    this.recomputeRestrictions();
    return ack();
  }

  private recomputeRestrictions(): void {
    const blocked = new Set<string>();
    const allowLists: string[][] = [];
    const strings = (value: PlistValue | undefined): string[] | null =>
      Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : null;
    for (const profile of this.installed.values()) {
      for (const payload of profile.payloads) {
        if (payload.PayloadType !== 'com.apple.applicationaccess') continue;
        for (const id of strings(payload.blockedAppBundleIDs) ?? []) blocked.add(id);
        const allow = strings(payload.allowListedAppBundleIDs);
        if (allow) allowLists.push(allow);
      }
    }
    // Blocked lists are unioned, allow lists intersected; both keys are supervised-only.
    const [first, ...rest] = allowLists;
    this.blocked = this.supervised ? [...blocked].sort() : [];
    this.allowListed =
      this.supervised && first
        ? [...new Set(first)].filter((id) => rest.every((list) => list.includes(id))).sort()
        : null;
  }

  private profileList(command: PlistDict): Outcome {
    const managedOnly = command.ManagedOnly === true;
    const list: InstalledProfile[] = [...this.installed.values()];
    const enrollment = this.enrollment?.profile;
    if (
      enrollment &&
      !managedOnly &&
      typeof enrollment.PayloadIdentifier === 'string' &&
      typeof enrollment.PayloadUUID === 'string'
    ) {
      list.unshift({
        identifier: enrollment.PayloadIdentifier,
        uuid: enrollment.PayloadUUID,
        version: typeof enrollment.PayloadVersion === 'number' ? enrollment.PayloadVersion : 1,
        displayName: typeof enrollment.PayloadDisplayName === 'string' ? enrollment.PayloadDisplayName : undefined,
        organization: typeof enrollment.PayloadOrganization === 'string' ? enrollment.PayloadOrganization : undefined,
        removalDisallowed: false,
        payloads: payloadsOf(enrollment),
        signerCertificates: [],
        managed: false,
        installedAt: new Date(0),
        profile: enrollment,
      });
    }
    const pick = (p: PlistDict): PlistDict => {
      const out: PlistDict = {};
      for (const key of [
        'PayloadType',
        'PayloadVersion',
        'PayloadIdentifier',
        'PayloadUUID',
        'PayloadDisplayName',
        'PayloadDescription',
        'PayloadOrganization',
      ]) {
        if (p[key] !== undefined) out[key] = p[key];
      }
      return out;
    };
    return ack({
      ProfileList: list
        .filter((p) => !managedOnly || p.managed)
        .map((p) =>
          compact({
            PayloadIdentifier: p.identifier,
            PayloadUUID: p.uuid,
            PayloadVersion: p.version,
            PayloadDisplayName: p.displayName,
            PayloadOrganization: p.organization,
            PayloadDescription: p.description,
            PayloadRemovalDisallowed: p.removalDisallowed,
            HasRemovalPasscode: false,
            IsEncrypted: false,
            // "MDM doesn't return this value for supervised devices".
            IsManaged: this.supervised ? undefined : p.managed,
            SignerCertificates: p.signerCertificates.length > 0 ? p.signerCertificates : undefined,
            PayloadContent: p.payloads.map(pick),
          }),
        ),
    });
  }

  private installedApplicationList(command: PlistDict): Outcome {
    const identifiers = Array.isArray(command.Identifiers)
      ? command.Identifiers.filter((x): x is string => typeof x === 'string')
      : null;
    const items = Array.isArray(command.Items)
      ? new Set([...command.Items.filter((x): x is string => typeof x === 'string'), 'Identifier'])
      : null;
    const managedOnly = command.ManagedAppsOnly === true;
    const list = [...this.apps.values()]
      .filter((a) => (identifiers === null || identifiers.includes(a.bundleId)) && (!managedOnly || a.managed))
      .map((a) => {
        const full: PlistDict = {
          Identifier: a.bundleId,
          Name: a.name,
          Version: a.version,
          ShortVersion: a.shortVersion,
          BundleSize: a.bundleSize,
          DynamicSize: Math.round(a.bundleSize / 4),
          IsValidated: true,
          Installing: false,
          AppStoreVendable: a.iTunesStoreID !== undefined,
          DeviceBasedVPP: a.managed,
          BetaApp: false,
          AdHocCodeSigned: false,
          HasUpdateAvailable: false,
          IsAppClip: false,
          ...(a.iTunesStoreID !== undefined
            ? { ExternalVersionIdentifier: 800000000 + (a.iTunesStoreID % 1000000) }
            : {}),
        };
        if (!items) return full;
        const picked: PlistDict = {};
        for (const [k, v] of Object.entries(full)) if (items.has(k)) picked[k] = v;
        return picked;
      });
    return ack({ InstalledApplicationList: list });
  }

  private managedApplicationList(command: PlistDict): Outcome {
    const identifiers = Array.isArray(command.Identifiers)
      ? command.Identifiers.filter((x): x is string => typeof x === 'string')
      : null;
    const out: PlistDict = {};
    for (const a of this.apps.values()) {
      if (!a.managed || (identifiers !== null && !identifiers.includes(a.bundleId))) continue;
      out[a.bundleId] = {
        Status: 'Managed',
        ManagementFlags: a.managementFlags,
        HasConfiguration: a.hasConfiguration,
        HasFeedback: false,
        IsValidated: true,
        ExternalVersionIdentifier: a.iTunesStoreID !== undefined ? 800000000 + (a.iTunesStoreID % 1000000) : 0,
      };
    }
    return ack({ ManagedApplicationList: out });
  }

  private deviceInformation(command: PlistDict): Outcome {
    const values: Record<(typeof QUERY_KEYS)[number], PlistValue> = {
      UDID: this.udid,
      IsSupervised: this.supervised,
      OSVersion: this.osVersion,
      BuildVersion: this.buildVersion,
      ModelName: 'iPhone',
      Model: this.options.modelNumber ?? 'MQ0G3ZD/A',
      ProductName: this.options.model ?? 'iPhone15,2',
      SerialNumber: this.serial,
      DeviceName: this.deviceName,
    };
    const responses: PlistDict = {};
    const queries = Array.isArray(command.Queries) ? command.Queries : [];
    for (const q of queries) {
      // Queries the simulator does not know are left out, as iOS does with unavailable ones.
      if (typeof q === 'string' && (QUERY_KEYS as readonly string[]).includes(q))
        responses[q] = values[q as (typeof QUERY_KEYS)[number]];
    }
    return ack({ QueryResponses: responses });
  }

  private installApplication(command: PlistDict): Outcome {
    let bundleId = typeof command.Identifier === 'string' ? command.Identifier : undefined;
    const storeId = typeof command.iTunesStoreID === 'number' ? command.iTunesStoreID : undefined;
    const store = storeId !== undefined ? this.options.storeApps?.find((s) => s.iTunesStoreID === storeId) : undefined;
    if (!bundleId && storeId !== undefined) bundleId = store?.bundleId ?? `store.app.${storeId}`;
    if (!bundleId) {
      return fail('MCMDMErrorDomain', 12024, 'The simulator needs Identifier or iTunesStoreID to install an app.', {
        RejectionReason: 'NotSupported',
      });
    }
    const existing = this.apps.get(bundleId);
    const attributes = isPlistDict(command.Attributes) ? command.Attributes : {};
    const flags = typeof command.ManagementFlags === 'number' ? command.ManagementFlags : 0;
    if (existing && !existing.managed && command.ChangeManagementState !== 'Managed') {
      return fail('MCMDMErrorDomain', 12026, `The app “${bundleId}” is already installed and not managed.`, {
        Identifier: bundleId,
        RejectionReason: 'AppAlreadyInstalled',
      });
    }
    const app =
      existing ?? this.addApp({ bundleId, name: store?.name, version: store?.version, iTunesStoreID: storeId });
    app.managed = true;
    app.managementFlags = flags;
    app.hasConfiguration = isPlistDict(command.Configuration);
    app.removable = attributes.Removable !== false;
    if (storeId !== undefined) app.iTunesStoreID = storeId;
    return ack({ Identifier: bundleId, State: 'Managed' });
  }

  private removeApplication(command: PlistDict): Outcome {
    const bundleId = String(command.Identifier);
    const app = this.apps.get(bundleId);
    if (!app) return fail('MCMDMErrorDomain', 12029, `The app “${bundleId}” is not installed.`);
    if (!app.managed) return fail('MCMDMErrorDomain', 12029, `The app “${bundleId}” is not managed.`);
    this.apps.delete(bundleId);
    return ack();
  }

  private addApp(spec: AppSpec): SimulatedApp {
    const app: SimulatedApp = {
      bundleId: spec.bundleId,
      name: spec.name ?? spec.bundleId.split('.').pop() ?? spec.bundleId,
      version: spec.version ?? '1.0',
      shortVersion: spec.shortVersion ?? spec.version ?? '1.0',
      bundleSize: spec.bundleSize ?? 50_000_000,
      managed: spec.managed ?? false,
      iTunesStoreID: spec.iTunesStoreID,
      managementFlags: 0,
      hasConfiguration: false,
      removable: true,
    };
    this.apps.set(app.bundleId, app);
    return app;
  }
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''), 'base64');
}
