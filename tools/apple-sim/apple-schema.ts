/**
 * Validation of MDM dictionaries against Apple's device-management schema YAML
 * (shared/reference/apple/mdm: checkin/*.yaml, commands/*.yaml, profiles/*.yaml), loaded once.
 *
 * - `validateCommand(requestType, command)`: the `Command` dictionary of a command (payloadkeys
 *   of the commands/*.yaml whose `payload.requesttype` is requestType; `RequestType` itself is allowed).
 * - `validateCommandResponse(requestType, response)`: a device's answer: the response envelope
 *   (UDID, CommandUUID, Status, ErrorChain, ...; built in, not in the YAML) plus `responsekeys`.
 * - `validateCheckin(messageType, message)`: a check-in message (checkin/*.yaml). NB: these files
 *   name the message type `payload.requesttype` too (there is no `messagetype` field).
 * - `validateProfilePayload(payloadType, payload)`: one payload of a profile (profiles/*.yaml,
 *   `payload.payloadtype`). The YAML does not list the common payload keys; PayloadType (must be
 *   payloadType), PayloadVersion, PayloadIdentifier, PayloadUUID (required) and
 *   PayloadDisplayName, PayloadDescription, PayloadOrganization (optional) are added.
 * - `validateProfile(profile)`: the top-level Configuration dictionary (built-in keys, Apple's
 *   TopLevel.yaml is not among the reference files).
 *
 * Rules: required keys present; every value of its declared type (`<string>`, `<integer>`,
 * `<real>`, `<boolean>`, `<data>` = Buffer/Uint8Array, `<date>` = Date, `<array>` (items per the
 * single subkey), `<dictionary>` (recursively per subkeys; a subkey named `ANY…` matches any key),
 * `<any>`); `rangelist` values; no key the YAML does not list. A `<string>` item with subkeys (the
 * DeviceInformation `Queries`) must be one of the subkey names.
 *
 * "Required" honours the platform context (default: iOS, device enrollment, device channel): a
 * required key is not required where the YAML says it is not available (`introduced: n/a`), on
 * the device channel when `devicechannel: false`, and outside user enrollment when its
 * `userenrollment.mode` is `required` (e.g. TokenUpdate `EnrollmentID`, `NotOnConsole`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

export type Platform = 'iOS' | 'macOS' | 'tvOS' | 'visionOS' | 'watchOS';

export interface ValidationContext {
  /** Default 'iOS'. */
  platform?: Platform;
  /** Default 'device'. */
  enrollment?: 'device' | 'user';
  /** Default 'device'. */
  channel?: 'device' | 'user';
}

export interface Violation {
  /** Dotted path, relative to the validated dictionary, e.g. `Identifier`, `InstalledApplicationList[0].Name`. */
  path: string;
  message: string;
  /** missing: required key absent; type: wrong type; range: value not allowed; unknown: key not in the schema; schema: no schema. */
  kind: ViolationKind;
}

export type ViolationKind = 'missing' | 'type' | 'range' | 'unknown' | 'schema';

interface PlatformSupport {
  introduced?: string;
  devicechannel?: boolean;
  userchannel?: boolean;
  userenrollmentMode?: string;
}

export interface SchemaKey {
  key: string;
  type: string;
  presence?: string;
  rangelist?: (string | number | boolean)[];
  subkeys?: SchemaKey[];
  supportedOS?: Partial<Record<Platform, PlatformSupport>>;
}

export interface SchemaFile {
  file: string;
  title: string;
  requesttype?: string;
  payloadtype?: string;
  /** iOS access right the command needs (payload.supportedOS.iOS.accessrights), e.g. AllowAppInstallation. */
  accessRights?: string;
  payloadkeys: SchemaKey[];
  responsekeys?: SchemaKey[];
}

export interface AppleSchema {
  dir: string;
  commands: Map<string, SchemaFile>;
  checkins: Map<string, SchemaFile>;
  profiles: Map<string, SchemaFile>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toPlatformSupport(value: Json | undefined): PlatformSupport | undefined {
  if (!isObject(value)) return undefined;
  const ue = value.userenrollment;
  return {
    introduced: value.introduced === undefined || value.introduced === null ? undefined : String(value.introduced),
    devicechannel: typeof value.devicechannel === 'boolean' ? value.devicechannel : undefined,
    userchannel: typeof value.userchannel === 'boolean' ? value.userchannel : undefined,
    userenrollmentMode: isObject(ue) && typeof ue.mode === 'string' ? ue.mode : undefined,
  };
}

/** YAML aliases can make the schema recursive (applicationaccess.new `subApps`): one SchemaKey[] per source list. */
type Memo = Map<Json[], SchemaKey[]>;

function toKeys(list: Json[], file: string, memo: Memo): SchemaKey[] {
  const done = memo.get(list);
  if (done) return done;
  const out: SchemaKey[] = [];
  memo.set(list, out);
  for (const item of list) out.push(toKey(item, file, memo));
  return out;
}

function toKey(value: Json, file: string, memo: Memo): SchemaKey {
  if (!isObject(value) || typeof value.key !== 'string' || typeof value.type !== 'string') {
    throw new Error(`${file}: a key without 'key' or 'type': ${JSON.stringify(value).slice(0, 120)}`);
  }
  const key: SchemaKey = { key: value.key, type: value.type };
  if (typeof value.presence === 'string') key.presence = value.presence;
  if (Array.isArray(value.rangelist)) {
    key.rangelist = value.rangelist.filter((v): v is string | number | boolean =>
      ['string', 'number', 'boolean'].includes(typeof v),
    );
  }
  if (Array.isArray(value.subkeys)) key.subkeys = toKeys(value.subkeys, file, memo);
  if (isObject(value.supportedOS)) {
    const supported: Partial<Record<Platform, PlatformSupport>> = {};
    for (const platform of ['iOS', 'macOS', 'tvOS', 'visionOS', 'watchOS'] as const) {
      const s = toPlatformSupport(value.supportedOS[platform]);
      if (s) supported[platform] = s;
    }
    key.supportedOS = supported;
  }
  return key;
}

function iosAccessRights(payload: JsonObject): string | undefined {
  const supported = payload.supportedOS;
  if (!isObject(supported) || !isObject(supported.iOS)) return undefined;
  return typeof supported.iOS.accessrights === 'string' ? supported.iOS.accessrights : undefined;
}

function loadFile(path: string, name: string): SchemaFile {
  const doc = YAML.parse(readFileSync(path, 'utf8')) as Json;
  if (!isObject(doc) || !isObject(doc.payload)) throw new Error(`${name}: no payload section`);
  const memo: Memo = new Map();
  const payloadkeys = Array.isArray(doc.payloadkeys) ? toKeys(doc.payloadkeys, name, memo) : [];
  const responsekeys = Array.isArray(doc.responsekeys) ? toKeys(doc.responsekeys, name, memo) : undefined;
  return {
    file: name,
    title: typeof doc.title === 'string' ? doc.title : name,
    requesttype: typeof doc.payload.requesttype === 'string' ? doc.payload.requesttype : undefined,
    payloadtype: typeof doc.payload.payloadtype === 'string' ? doc.payload.payloadtype : undefined,
    accessRights: iosAccessRights(doc.payload),
    payloadkeys,
    responsekeys,
  };
}

/** `<repo>/../shared/reference/apple/mdm`, then `/work/shared/reference/apple/mdm`; `APPLE_MDM_SCHEMA_DIR` wins. */
export function defaultSchemaDir(): string {
  const candidates = [
    process.env.APPLE_MDM_SCHEMA_DIR,
    resolve(__dirname, '../../../shared/reference/apple/mdm'),
    resolve(__dirname, '../../../../shared/reference/apple/mdm'),
    '/work/shared/reference/apple/mdm',
  ].filter((c): c is string => typeof c === 'string' && c !== '');
  const found = candidates.find((c) => existsSync(join(c, 'commands')));
  if (!found) throw new Error(`Apple MDM schema not found (tried ${candidates.join(', ')}); set APPLE_MDM_SCHEMA_DIR`);
  return found;
}

export function loadAppleSchema(dir: string = defaultSchemaDir()): AppleSchema {
  const schema: AppleSchema = { dir, commands: new Map(), checkins: new Map(), profiles: new Map() };
  const load = (sub: string, field: 'requesttype' | 'payloadtype', into: Map<string, SchemaFile>): void => {
    const folder = join(dir, sub);
    if (!existsSync(folder)) return;
    for (const name of readdirSync(folder)
      .filter((n) => n.endsWith('.yaml'))
      .sort()) {
      const file = loadFile(join(folder, name), `${sub}/${name}`);
      const id = file[field];
      if (!id) throw new Error(`${sub}/${name}: no payload.${field}`);
      if (into.has(id)) throw new Error(`${sub}/${name}: ${field} ${id} also in ${into.get(id)?.file}`);
      into.set(id, file);
    }
  };
  load('commands', 'requesttype', schema.commands);
  load('checkin', 'requesttype', schema.checkins);
  load('profiles', 'payloadtype', schema.profiles);
  return schema;
}

let cached: AppleSchema | undefined;

/** The schema from the default directory, loaded on first use. */
export function appleSchema(): AppleSchema {
  cached ??= loadAppleSchema();
  return cached;
}

// ---------------------------------------------------------------------------------------------
// Validation

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return 'data';
  if (value instanceof Date) return 'date';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'real';
  if (typeof value === 'object') return 'dictionary';
  return typeof value;
}

function isDictionary(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}

function isRequired(key: SchemaKey, context: Required<ValidationContext>): boolean {
  if (key.presence !== 'required') return false;
  const support = key.supportedOS?.[context.platform];
  if (!support) return true;
  if (support.introduced === 'n/a') return false;
  if (context.channel === 'device' && support.devicechannel === false) return false;
  if (context.channel === 'user' && support.userchannel === false) return false;
  if (context.enrollment === 'device' && support.userenrollmentMode === 'required') return false;
  if (context.enrollment === 'user' && support.userenrollmentMode === 'forbidden') return false;
  return true;
}

function join2(path: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function checkValue(
  value: unknown,
  def: SchemaKey,
  path: string,
  context: Required<ValidationContext>,
  out: Violation[],
): void {
  const actual = typeName(value);
  const expected = def.type;
  const wrong = (): void => {
    out.push({ path, message: `expected ${expected}, got ${actual}`, kind: 'type' });
  };
  switch (expected) {
    case '<any>':
      return;
    case '<string>':
      if (typeof value !== 'string') return wrong();
      if (def.subkeys && def.subkeys.length > 0 && !def.subkeys.some((s) => s.key === value)) {
        out.push({
          path,
          message: `'${value}' is not one of the ${def.subkeys.length} values the schema lists`,
          kind: 'range',
        });
      }
      break;
    case '<integer>':
      if (typeof value !== 'number' || !Number.isInteger(value)) return wrong();
      break;
    case '<real>':
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrong();
      break;
    case '<boolean>':
      if (typeof value !== 'boolean') return wrong();
      break;
    case '<data>':
      if (!(value instanceof Uint8Array)) return wrong();
      return;
    case '<date>':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) return wrong();
      return;
    case '<array>': {
      if (!Array.isArray(value)) return wrong();
      const item = def.subkeys?.[0];
      if (item) value.forEach((v, i) => checkValue(v, item, `${path}[${i}]`, context, out));
      return;
    }
    case '<dictionary>':
      if (!isDictionary(value)) return wrong();
      if (def.subkeys && def.subkeys.length > 0) checkDictionary(value, def.subkeys, path, context, out);
      return;
    default:
      out.push({ path, message: `schema type ${expected} is not supported by the validator`, kind: 'schema' });
      return;
  }
  if (def.rangelist && def.rangelist.length > 0 && !def.rangelist.includes(value as string | number | boolean)) {
    out.push({ path, message: `${JSON.stringify(value)} is not in ${JSON.stringify(def.rangelist)}`, kind: 'range' });
  }
}

function checkDictionary(
  dict: Record<string, unknown>,
  keys: SchemaKey[],
  path: string,
  context: Required<ValidationContext>,
  out: Violation[],
  allowedExtra: ReadonlySet<string> = new Set(),
): void {
  const byName = new Map(keys.filter((k) => !k.key.startsWith('ANY')).map((k) => [k.key, k]));
  const wildcard = keys.find((k) => k.key.startsWith('ANY'));
  for (const def of byName.values()) {
    if (isRequired(def, context) && dict[def.key] === undefined)
      out.push({ path: join2(path, def.key), message: 'required key missing', kind: 'missing' });
  }
  for (const [name, value] of Object.entries(dict)) {
    if (value === undefined) continue;
    const def = byName.get(name) ?? wildcard;
    if (!def) {
      if (!allowedExtra.has(name))
        out.push({ path: join2(path, name), message: 'key not in the schema', kind: 'unknown' });
      continue;
    }
    checkValue(value, def, join2(path, name), context, out);
  }
}

function fullContext(context: ValidationContext = {}): Required<ValidationContext> {
  return {
    platform: context.platform ?? 'iOS',
    enrollment: context.enrollment ?? 'device',
    channel: context.channel ?? 'device',
  };
}

function validateDictionary(
  value: unknown,
  keys: SchemaKey[],
  path: string,
  context: ValidationContext | undefined,
  extraKeys: SchemaKey[] = [],
  allowedExtra: ReadonlySet<string> = new Set(),
): Violation[] {
  const out: Violation[] = [];
  if (!isDictionary(value))
    return [{ path: path || '(root)', message: `expected <dictionary>, got ${typeName(value)}`, kind: 'type' }];
  checkDictionary(value, [...keys, ...extraKeys], path, fullContext(context), out, allowedExtra);
  return out;
}

/** Validates the `Command` dictionary of an MDM command (RequestType included). */
export function validateCommand(
  requestType: string,
  command: unknown,
  context?: ValidationContext,
  schema: AppleSchema = appleSchema(),
): Violation[] {
  const file = schema.commands.get(requestType);
  if (!file) return [{ path: 'RequestType', message: `no schema for RequestType ${requestType}`, kind: 'schema' }];
  const out = validateDictionary(command, file.payloadkeys, '', context, [], new Set(['RequestType']));
  if (isDictionary(command) && command.RequestType !== requestType) {
    out.unshift({
      path: 'RequestType',
      message: `expected '${requestType}', got ${JSON.stringify(command.RequestType)}`,
      kind: 'range',
    });
  }
  return out;
}

/** The envelope of every command response (Apple's "Command response" keys). */
export const RESPONSE_ENVELOPE: SchemaKey[] = [
  { key: 'UDID', type: '<string>', presence: 'optional' },
  { key: 'EnrollmentID', type: '<string>', presence: 'optional' },
  { key: 'EnrollmentUserID', type: '<string>', presence: 'optional' },
  { key: 'UserID', type: '<string>', presence: 'optional' },
  { key: 'UserShortName', type: '<string>', presence: 'optional' },
  { key: 'UserLongName', type: '<string>', presence: 'optional' },
  { key: 'NotOnConsole', type: '<boolean>', presence: 'optional' },
  { key: 'CommandUUID', type: '<string>', presence: 'optional' },
  {
    key: 'Status',
    type: '<string>',
    presence: 'required',
    rangelist: ['Acknowledged', 'Error', 'CommandFormatError', 'Idle', 'NotNow'],
  },
  {
    key: 'ErrorChain',
    type: '<array>',
    presence: 'optional',
    subkeys: [
      {
        key: 'ErrorChainItem',
        type: '<dictionary>',
        subkeys: [
          { key: 'ErrorCode', type: '<integer>', presence: 'required' },
          { key: 'ErrorDomain', type: '<string>', presence: 'required' },
          { key: 'LocalizedDescription', type: '<string>', presence: 'required' },
          { key: 'USEnglishDescription', type: '<string>', presence: 'optional' },
        ],
      },
    ],
  },
];

/**
 * Validates a device's command response: envelope + the command's `responsekeys`. Required
 * response keys are required only when Status is Acknowledged.
 */
export function validateCommandResponse(
  requestType: string,
  response: unknown,
  context?: ValidationContext,
  schema: AppleSchema = appleSchema(),
): Violation[] {
  const file = schema.commands.get(requestType);
  if (!file) return [{ path: '', message: `no schema for RequestType ${requestType}`, kind: 'schema' }];
  const acknowledged = isDictionary(response) && response.Status === 'Acknowledged';
  const responseKeys = (file.responsekeys ?? []).map((k) => (acknowledged ? k : { ...k, presence: 'optional' }));
  return validateDictionary(response, [...RESPONSE_ENVELOPE, ...responseKeys], '', context);
}

/** Validates a check-in message (Authenticate, TokenUpdate, CheckOut, ...). */
export function validateCheckin(
  messageType: string,
  message: unknown,
  context?: ValidationContext,
  schema: AppleSchema = appleSchema(),
): Violation[] {
  const file = schema.checkins.get(messageType);
  if (!file) return [{ path: 'MessageType', message: `no schema for MessageType ${messageType}`, kind: 'schema' }];
  const out = validateDictionary(message, file.payloadkeys, '', context);
  if (isDictionary(message) && message.MessageType !== messageType) {
    out.unshift({
      path: 'MessageType',
      message: `expected '${messageType}', got ${JSON.stringify(message.MessageType)}`,
      kind: 'range',
    });
  }
  return out;
}

/** The payload keys every profile payload has (Apple's CommonPayloadKeys), not listed in the YAML. */
export function commonPayloadKeys(payloadType: string): SchemaKey[] {
  return [
    { key: 'PayloadType', type: '<string>', presence: 'required', rangelist: [payloadType] },
    { key: 'PayloadVersion', type: '<integer>', presence: 'required', rangelist: [1] },
    { key: 'PayloadIdentifier', type: '<string>', presence: 'required' },
    { key: 'PayloadUUID', type: '<string>', presence: 'required' },
    { key: 'PayloadDisplayName', type: '<string>', presence: 'optional' },
    { key: 'PayloadDescription', type: '<string>', presence: 'optional' },
    { key: 'PayloadOrganization', type: '<string>', presence: 'optional' },
  ];
}

/** Validates one payload of a profile (an item of PayloadContent) against profiles/<type>.yaml. */
export function validateProfilePayload(
  payloadType: string,
  payload: unknown,
  context?: ValidationContext,
  schema: AppleSchema = appleSchema(),
): Violation[] {
  const file = schema.profiles.get(payloadType);
  if (!file) return [{ path: 'PayloadType', message: `no schema for PayloadType ${payloadType}`, kind: 'schema' }];
  const listed = new Set(file.payloadkeys.map((k) => k.key));
  const common = commonPayloadKeys(payloadType).filter((k) => !listed.has(k.key));
  return validateDictionary(payload, file.payloadkeys, '', context, common);
}

/** Top-level keys of a configuration profile (from Apple's TopLevel.yaml, not among the reference files). */
export const PROFILE_TOP_LEVEL: SchemaKey[] = [
  { key: 'PayloadType', type: '<string>', presence: 'required', rangelist: ['Configuration'] },
  { key: 'PayloadVersion', type: '<integer>', presence: 'required', rangelist: [1] },
  { key: 'PayloadIdentifier', type: '<string>', presence: 'required' },
  { key: 'PayloadUUID', type: '<string>', presence: 'required' },
  { key: 'PayloadDisplayName', type: '<string>', presence: 'optional' },
  { key: 'PayloadDescription', type: '<string>', presence: 'optional' },
  { key: 'PayloadOrganization', type: '<string>', presence: 'optional' },
  {
    key: 'PayloadContent',
    type: '<array>',
    presence: 'optional',
    subkeys: [{ key: 'PayloadContentItem', type: '<dictionary>' }],
  },
  { key: 'PayloadRemovalDisallowed', type: '<boolean>', presence: 'optional' },
  { key: 'PayloadScope', type: '<string>', presence: 'optional', rangelist: ['System', 'User'] },
  { key: 'PayloadDate', type: '<date>', presence: 'optional' },
  { key: 'PayloadExpirationDate', type: '<date>', presence: 'optional' },
  { key: 'RemovalDate', type: '<date>', presence: 'optional' },
  { key: 'DurationUntilRemoval', type: '<real>', presence: 'optional' },
  { key: 'ConsentText', type: '<dictionary>', presence: 'optional' },
  { key: 'EncryptedPayloadContent', type: '<data>', presence: 'optional' },
  { key: 'HasRemovalPasscode', type: '<boolean>', presence: 'optional' },
  { key: 'IsEncrypted', type: '<boolean>', presence: 'optional' },
  { key: 'TargetDeviceType', type: '<integer>', presence: 'optional', rangelist: [0, 1, 2, 3, 4, 5] },
];

/** Validates the top-level dictionary of a .mobileconfig (not its payloads). */
export function validateProfile(profile: unknown, context?: ValidationContext): Violation[] {
  return validateDictionary(profile, PROFILE_TOP_LEVEL, '', context);
}
