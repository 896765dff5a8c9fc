/**
 * The Android Management API discovery document, parsed once, turned into a router (the
 * `flatPath` / `path` / `httpMethod` of every `resources.*.methods.*`) and a generic validator of
 * JSON bodies and query strings against `schemas` and `parameters`.
 *
 * Nothing here knows AMAPI field names: every check comes from the document ($ref, type, format,
 * enum, items, additionalProperties, "Required." / "Output only" / "read-only" in descriptions).
 * Error texts mimic Google's JSON transcoder (ESF): proto (snake_case) paths, `[i]` for list items,
 * `[i].value` for map entries, one message per violation joined by "\n".
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export interface DiscoverySchema {
  id?: string;
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'any';
  format?: string;
  description?: string;
  properties?: Record<string, DiscoverySchema>;
  additionalProperties?: DiscoverySchema;
  items?: DiscoverySchema;
  enum?: string[];
  enumDeprecated?: boolean[];
  readOnly?: boolean;
  deprecated?: boolean;
}

export interface DiscoveryParameter extends DiscoverySchema {
  location?: 'path' | 'query';
  required?: boolean;
  repeated?: boolean;
  pattern?: string;
}

export interface DiscoveryMethod {
  id: string;
  path: string;
  flatPath?: string;
  httpMethod: string;
  parameters?: Record<string, DiscoveryParameter>;
  request?: { $ref: string };
  response?: { $ref: string };
}

interface DiscoveryResource {
  methods?: Record<string, DiscoveryMethod>;
  resources?: Record<string, DiscoveryResource>;
}

export interface DiscoveryDocument {
  name: string;
  version: string;
  revision: string;
  rootUrl: string;
  parameters: Record<string, DiscoveryParameter>;
  resources: Record<string, DiscoveryResource>;
  schemas: Record<string, DiscoverySchema>;
}

export interface FieldViolation {
  /** Proto path of the offending field; absent when the problem is at the root of the request. */
  field?: string;
  description: string;
}

/** Proto package of the API: used in type URLs (`type.googleapis.com/<package>.<Message>`). */
export const PROTO_PACKAGE = 'google.apps.androidmanagement.v1';
const TYPE_URL_PREFIX = 'type.googleapis.com/';

export interface Route {
  method: DiscoveryMethod;
  /** Matches the URL path (leading slash, no query) against the method's flatPath. */
  flat: RegExp;
  /** Extracts the `{+name}` / `{parent}` parameters in the order of `paramNames`. */
  template: RegExp;
  paramNames: string[];
  /** The `pattern` of each path parameter, compiled once. */
  patterns: Record<string, RegExp>;
}

export type RouteMatch =
  { kind: 'ok'; route: Route; params: Record<string, string> } | { kind: 'wrong-verb' } | { kind: 'none' };

export interface ValidateOptions {
  /** Drop fields the document marks output-only / read-only (they are accepted, then ignored). */
  stripOutputOnly: boolean;
  /** Enforce fields whose description starts with "Required." (request bodies only). */
  enforceRequired: boolean;
}

export interface ValidationResult {
  violations: FieldViolation[];
  /** The value as Google would store it: camelCase keys, nulls dropped, int64 as strings, int32 as numbers. */
  value: JsonObject;
}

interface FieldInfo {
  jsonName: string;
  protoName: string;
  schema: DiscoverySchema;
  outputOnly: boolean;
  required: boolean;
}

interface Location {
  /** Proto path of the value being checked ('' = root). */
  path: string;
  /** Proto path of the message holding the field, and the JSON name of the field. */
  parent: string;
  name: string;
  /** Schema (message) name that declares the field: enum type names are `<owner>.<FieldName>`. */
  owner: string;
}

/**
 * What a field's description requires beyond its type, read from the document's own sentences:
 * "Must have at least one element" / "must not be empty" (non-empty), "must not have duplicates" /
 * "must be unique" (no duplicates), "Must be greater than zero", "must be between A and B,
 * inclusive", "must be N characters or less" / "maximum … length is N characters", "must use the
 * https scheme", "base64url encoded".
 */
export interface MustRules {
  nonEmpty?: true;
  unique?: true;
  min?: number;
  max?: number;
  maxLength?: number;
  https?: true;
  base64url?: true;
}

export function mustRulesOf(description: string): MustRules {
  const rules: MustRules = {};
  if (/\bMust have at least one element\b|\bmust not be empty\b|\bmust be non-empty\b(?! when)/i.test(description))
    rules.nonEmpty = true;
  if (/\bmust not have duplicates\b|\bmust not be empty or contain duplicates\b|\bmust be unique\b/i.test(description))
    rules.unique = true;
  if (/\bMust be greater than zero\b/i.test(description)) rules.min = 1;
  const between = /\bmust be between (\d+) and (\d+), inclusive\b/i.exec(description);
  if (between) {
    rules.min = Number(between[1]);
    rules.max = Number(between[2]);
  }
  const length =
    /\bmust be (\d+) characters or less\b/i.exec(description) ??
    /\bmust be at most (\d+) characters\b/i.exec(description) ??
    /\bmaximum (?:message )?length is (\d+) characters\b/i.exec(description);
  if (length) rules.maxLength = Number(length[1]);
  if (/\bmust use the https scheme\b/i.test(description)) rules.https = true;
  if (/\bbase64url encoded\b/i.test(description)) rules.base64url = true;
  return rules;
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * The "must" sentences that tie two fields of one message together, as the document words them
 * (one function per schema id; each returns the sentences of what is wrong).
 */
const CROSS_FIELD_RULES: Record<string, (value: JsonObject, path: string) => string[]> = {
  // "A default message must be provided if any localized messages are provided."
  UserFacingMessage: (v) =>
    isJsonObject(v.localizedMessages) && Object.keys(v.localizedMessages).length > 0 && !v.defaultMessage
      ? ['A default message must be provided if any localized messages are provided.']
      : [],
  // privateDnsHost: "This must be set if and only if private_dns_mode is set to PRIVATE_DNS_SPECIFIED_HOST."
  PrivateDnsSettings: (v) =>
    (v.privateDnsMode === 'PRIVATE_DNS_SPECIFIED_HOST') !== Boolean(v.privateDnsHost)
      ? ['privateDnsHost must be set if and only if privateDnsMode is PRIVATE_DNS_SPECIFIED_HOST.']
      : [],
  // FreezePeriod dates: "day and month must be set. year should not be set as it is not used."
  FreezePeriod: (v) =>
    (['startDate', 'endDate'] as const).flatMap((key) => {
      const date = v[key];
      if (!isJsonObject(date)) return [`${key} must be set.`];
      const month = Number(date.month ?? 0);
      const day = Number(date.day ?? 0);
      if (month < 1 || month > 12 || day < 1 || day > 31) return [`${key}: day and month must be set (month 1 to 12).`];
      return [];
    }),
};

export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How Google prints an offending value: strings JSON-quoted, numbers and booleans bare. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  }
  return String(value);
}

function at(path: string): string {
  return path ? ` at '${path}'` : '';
}

function unknownName(parent: string, name: string, reason: string): FieldViolation {
  const description = `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}${at(parent)}: ${reason}`;
  return parent ? { field: parent, description } : { description };
}

function invalidValue(path: string, typeName: string, value: unknown, detail?: string): FieldViolation {
  const suffix = detail ? `Field '${path}', ${detail}` : show(value);
  return { field: path, description: `Invalid value at '${path}' (${typeName}), ${suffix}` };
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_DURATION_SECONDS = 315_576_000_000;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const DURATION = /^(-)?(\d+)(\.\d{1,9})?s$/;
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

export class DiscoveryModel {
  readonly routes: Route[];
  private readonly fieldIndex = new WeakMap<DiscoverySchema, Map<string, FieldInfo>>();
  private readonly requiredIndex = new WeakMap<DiscoverySchema, FieldInfo[]>();

  constructor(readonly doc: DiscoveryDocument) {
    this.routes = [];
    const visit = (resource: DiscoveryResource): void => {
      for (const method of Object.values(resource.methods ?? {})) this.routes.push(DiscoveryModel.compile(method));
      for (const child of Object.values(resource.resources ?? {})) visit(child);
    };
    visit({ resources: doc.resources });
  }

  private static compile(method: DiscoveryMethod): Route {
    const flatPath = method.flatPath ?? method.path;
    const flat = new RegExp(
      `^/${flatPath
        .split(/(\{[^}]+\})/)
        .map((part) => (part.startsWith('{') ? '[^/:]+' : escapeRegExp(part)))
        .join('')}$`,
    );
    const paramNames: string[] = [];
    const template = new RegExp(
      `^/${method.path
        .split(/(\{[^}]+\})/)
        .map((part) => {
          if (!part.startsWith('{')) return escapeRegExp(part);
          const reserved = part.startsWith('{+');
          paramNames.push(part.slice(reserved ? 2 : 1, -1));
          return reserved ? '(.+?)' : '([^/]+?)';
        })
        .join('')}$`,
    );
    const patterns: Record<string, RegExp> = {};
    for (const name of paramNames) {
      const pattern = method.parameters?.[name]?.pattern;
      if (pattern !== undefined) patterns[name] = new RegExp(pattern);
    }
    return { method, flat, template, paramNames, patterns };
  }

  /** Finds the discovery method for a verb and a URL path (e.g. `PATCH /v1/enterprises/E/policies/P`). */
  match(httpMethod: string, pathname: string): RouteMatch {
    let pathMatched = false;
    for (const route of this.routes) {
      if (!route.flat.test(pathname)) continue;
      pathMatched = true;
      if (route.method.httpMethod !== httpMethod) continue;
      const m = route.template.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      try {
        route.paramNames.forEach((name, i) => {
          params[name] = decodeURIComponent(m[i + 1] ?? '');
        });
      } catch {
        continue; // malformed percent-encoding
      }
      if (Object.entries(params).some(([name, value]) => route.patterns[name] && !route.patterns[name].test(value)))
        continue;
      return { kind: 'ok', route, params };
    }
    return pathMatched ? { kind: 'wrong-verb' } : { kind: 'none' };
  }

  schema(name: string): DiscoverySchema {
    const schema = this.doc.schemas[name];
    if (!schema) throw new Error(`fake-amapi: no schema ${name} in the discovery document`);
    return schema;
  }

  /** Root proto path of a request body: `policy` for a Policy body, '' for a `*Request` message (body "*"). */
  static bodyRoot(requestSchema: string): string {
    return requestSchema.endsWith('Request')
      ? ''
      : camelToSnake(requestSchema.charAt(0).toLowerCase() + requestSchema.slice(1));
  }

  /**
   * Validates a JSON request (or response) body against a named schema. A non-object root is
   * rejected like Google does ("Root element must be a message.").
   */
  validateBody(schemaName: string, body: unknown, rootPath: string, options: ValidateOptions): ValidationResult {
    const violations: FieldViolation[] = [];
    if (!isJsonObject(body)) {
      violations.push(unknownName('', '', 'Root element must be a message.'));
      return { violations, value: {} };
    }
    const loc: Location = { path: rootPath, parent: '', name: '', owner: schemaName };
    const value = this.walkMessage(schemaName, this.schema(schemaName), body, loc, violations, options);
    return { violations, value: value ?? {} };
  }

  /** Field names (JSON and proto spellings) of a message schema, with what the document says of them. */
  fields(schema: DiscoverySchema): Map<string, FieldInfo> {
    let index = this.fieldIndex.get(schema);
    if (index) return index;
    index = new Map();
    for (const [jsonName, field] of Object.entries(schema.properties ?? {})) {
      const description = field.description ?? '';
      const info: FieldInfo = {
        jsonName,
        protoName: camelToSnake(jsonName),
        schema: field,
        outputOnly:
          field.readOnly === true || /^Output only\b/i.test(description) || /\bread-only field\b/i.test(description),
        required: /^Required\b/.test(description),
      };
      index.set(jsonName, info);
      if (!index.has(info.protoName)) index.set(info.protoName, info);
    }
    this.fieldIndex.set(schema, index);
    this.requiredIndex.set(
      schema,
      [...new Set(index.values())].filter((info) => info.required),
    );
    return index;
  }

  /**
   * Checks a stored resource (after a patch is merged, so that an update mask cannot bypass it)
   * against the "Must" sentences of the document (see mustRulesOf), recursively.
   */
  checkMust(schemaName: string, value: JsonObject, rootPath: string): FieldViolation[] {
    const out: FieldViolation[] = [];
    this.mustMessage(this.schema(schemaName), value, rootPath, out, 0);
    return out;
  }

  private mustMessage(
    schema: DiscoverySchema,
    value: JsonObject,
    path: string,
    out: FieldViolation[],
    depth: number,
  ): void {
    if (depth > 12) return;
    const crossField = schema.id ? CROSS_FIELD_RULES[schema.id] : undefined;
    if (crossField) out.push(...crossField(value, path).map((text) => ({ field: path, description: text })));
    for (const info of new Set(this.fields(schema).values())) {
      const fieldPath = path ? `${path}.${info.protoName}` : info.protoName;
      const v = value[info.jsonName];
      const rules = mustRulesOf(info.schema.description ?? '');
      const say = (text: string): void => {
        out.push({ field: fieldPath, description: `Invalid value at '${fieldPath}': ${text}` });
      };
      if (rules.nonEmpty && (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0))) {
        say(`${info.jsonName} must not be empty (the API documentation: "${(info.schema.description ?? '').trim()}").`);
        continue;
      }
      if (v === undefined || v === null) continue;
      if (rules.unique && Array.isArray(v)) {
        const seen = new Set(v.map((item) => JSON.stringify(item)));
        if (seen.size !== v.length) say(`${info.jsonName} must not contain duplicates.`);
      }
      if (typeof v === 'number') {
        if (rules.min !== undefined && v < rules.min) say(`${info.jsonName} must be at least ${rules.min} (got ${v}).`);
        if (rules.max !== undefined && v > rules.max) say(`${info.jsonName} must be at most ${rules.max} (got ${v}).`);
      }
      if (typeof v === 'string') {
        if (rules.maxLength !== undefined && v.length > rules.maxLength)
          say(`${info.jsonName} must be ${rules.maxLength} characters or less (got ${v.length}).`);
        if (rules.https && !/^https:\/\//i.test(v)) say(`${info.jsonName} must use the https scheme.`);
        if (rules.base64url && !BASE64URL.test(v))
          say(`${info.jsonName} must be base64url encoded (RFC 4648 section 5: A-Z a-z 0-9 - _).`);
      }
      const target = info.schema.$ref
        ? this.schema(info.schema.$ref)
        : info.schema.type === 'array' && info.schema.items?.$ref
          ? this.schema(info.schema.items.$ref)
          : info.schema.type === 'object' && info.schema.properties
            ? info.schema
            : undefined;
      if (!target) continue;
      if (Array.isArray(v))
        v.forEach((item, i) => {
          if (isJsonObject(item)) this.mustMessage(target, item, `${fieldPath}[${i}]`, out, depth + 1);
        });
      else if (isJsonObject(v)) this.mustMessage(target, v, fieldPath, out, depth + 1);
    }
  }

  /** Resolves a dotted field path (JSON or proto spelling) to its JSON spelling, or null if unknown. */
  resolveFieldPath(schemaName: string, path: string): string | null {
    let schema: DiscoverySchema | undefined = this.schema(schemaName);
    const out: string[] = [];
    for (const segment of path.split('.')) {
      if (!schema?.properties) return null;
      const info: FieldInfo | undefined = this.fields(schema).get(segment);
      if (!info) return null;
      out.push(info.jsonName);
      const next: DiscoverySchema = info.schema;
      schema = next.$ref ? this.schema(next.$ref) : next.type === 'object' && next.properties ? next : undefined;
    }
    return out.join('.');
  }

  /** Validates the query string of a call against the method's query parameters and the global ones. */
  validateQuery(
    method: DiscoveryMethod,
    query: Map<string, string[]>,
  ): { violations: FieldViolation[]; values: Map<string, Json> } {
    const violations: FieldViolation[] = [];
    const values = new Map<string, Json>();
    for (const [rawName, raw] of query) {
      // Google binds both spellings: `pageSize` and `page_size`.
      const name = method.parameters?.[rawName] || this.doc.parameters[rawName] ? rawName : snakeToCamel(rawName);
      const param = method.parameters?.[name] ?? this.doc.parameters[name];
      if (param?.location === 'path') continue; // a path parameter repeated in the query: ignored
      if (!param) {
        violations.push({
          description: `Invalid JSON payload received. Unknown name ${JSON.stringify(rawName)}: Cannot bind query parameter. Field '${rawName}' could not be found in request message.`,
        });
        continue;
      }
      const path = camelToSnake(name);
      const converted: Json[] = [];
      for (const text of param.repeated ? raw : raw.slice(-1)) {
        const v = this.convertQueryValue(param, text, path, violations);
        if (v !== undefined) converted.push(v);
      }
      values.set(name, param.repeated ? converted : (converted[0] ?? null));
    }
    for (const [name, param] of Object.entries(method.parameters ?? {})) {
      if (param.location === 'query' && param.required && !values.has(name)) {
        violations.push({ field: camelToSnake(name), description: `Required query parameter '${name}' is missing.` });
      }
    }
    return { violations, values };
  }

  private convertQueryValue(
    param: DiscoveryParameter,
    text: string,
    path: string,
    out: FieldViolation[],
  ): Json | undefined {
    if (param.enum) {
      if (param.enum.includes(text)) return text;
      out.push(invalidValue(path, 'TYPE_ENUM', text));
      return undefined;
    }
    if (param.type === 'boolean') {
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      out.push(invalidValue(path, 'TYPE_BOOL', text));
      return undefined;
    }
    if (param.type === 'integer') {
      const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
      if (Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX) return n;
      out.push(invalidValue(path, 'TYPE_INT32', text));
      return undefined;
    }
    return text;
  }

  private typeUrl(name: string): string {
    return `${TYPE_URL_PREFIX}${PROTO_PACKAGE}.${name}`;
  }

  /** The type name Google prints in "Invalid value at ... (<type>)" for a schema. */
  private typeName(schema: DiscoverySchema, loc: Location): string {
    if (schema.$ref) return this.typeUrl(schema.$ref);
    if (schema.type === 'array' && schema.items) return this.typeName(schema.items, loc);
    if (schema.enum) return this.typeUrl(`${loc.owner}.${pascal(loc.name)}`);
    switch (schema.format) {
      case 'int64':
        return 'TYPE_INT64';
      case 'uint64':
        return 'TYPE_UINT64';
      case 'int32':
        return 'TYPE_INT32';
      case 'uint32':
        return 'TYPE_UINT32';
      case 'float':
        return 'TYPE_FLOAT';
      case 'double':
        return 'TYPE_DOUBLE';
      case 'byte':
        return 'TYPE_BYTES';
      case 'google-datetime':
        return `${TYPE_URL_PREFIX}google.protobuf.Timestamp`;
      case 'google-duration':
        return `${TYPE_URL_PREFIX}google.protobuf.Duration`;
      case 'google-fieldmask':
        return `${TYPE_URL_PREFIX}google.protobuf.FieldMask`;
      default:
        break;
    }
    switch (schema.type) {
      case 'boolean':
        return 'TYPE_BOOL';
      case 'integer':
        return 'TYPE_INT32';
      case 'number':
        return 'TYPE_DOUBLE';
      case 'object':
        return `${TYPE_URL_PREFIX}google.protobuf.Struct`;
      default:
        return 'TYPE_STRING';
    }
  }

  private walkMessage(
    schemaName: string,
    schema: DiscoverySchema,
    value: JsonObject,
    loc: Location,
    out: FieldViolation[],
    options: ValidateOptions,
  ): JsonObject | undefined {
    const fields = this.fields(schema);
    const result: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      const info = fields.get(key);
      if (!info) {
        out.push(unknownName(loc.path, key, 'Cannot find field.'));
        continue;
      }
      if (child === null) continue; // JSON null = the default value, i.e. unset
      const childLoc: Location = {
        path: loc.path ? `${loc.path}.${info.protoName}` : info.protoName,
        parent: loc.path,
        name: info.jsonName,
        owner: schemaName,
      };
      const converted = this.walk(info.schema, child, childLoc, out, options);
      if (converted !== undefined && !(options.stripOutputOnly && info.outputOnly)) result[info.jsonName] = converted;
    }
    if (options.enforceRequired) {
      for (const info of this.requiredIndex.get(schema) ?? []) {
        const v = result[info.jsonName];
        const empty = v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
        if (empty) {
          const path = loc.path ? `${loc.path}.${info.protoName}` : info.protoName;
          out.push({ field: path, description: `Required field '${path}' is missing or empty.` });
        }
      }
    }
    return result;
  }

  private walk(
    schema: DiscoverySchema,
    value: Json,
    loc: Location,
    out: FieldViolation[],
    options: ValidateOptions,
  ): Json | undefined {
    if (schema.$ref) {
      const target = this.schema(schema.$ref);
      if (Array.isArray(value)) {
        out.push(unknownName(loc.parent, loc.name, 'Proto field is not repeating, cannot start list.'));
        return undefined;
      }
      if (!isJsonObject(value)) {
        out.push(invalidValue(loc.path, this.typeUrl(schema.$ref), value));
        return undefined;
      }
      return this.walkMessage(schema.$ref, target, value, loc, out, options);
    }
    switch (schema.type) {
      case 'any':
        return value;
      case 'array': {
        const items = schema.items ?? { type: 'any' };
        if (!Array.isArray(value)) {
          // Google's transcoder may accept a bare value for a repeated field; the fake does not.
          out.push(invalidValue(loc.path, this.typeName(items, loc), value));
          return undefined;
        }
        const result: Json[] = [];
        value.forEach((item, i) => {
          const itemLoc: Location = { ...loc, path: `${loc.path}[${i}]` };
          if (item === null || Array.isArray(item)) {
            out.push(invalidValue(itemLoc.path, this.typeName(items, loc), item));
            return;
          }
          const converted = this.walk(items, item, itemLoc, out, options);
          if (converted !== undefined) result.push(converted);
        });
        return result;
      }
      case 'object': {
        if (Array.isArray(value)) {
          out.push(unknownName(loc.parent, loc.name, 'Proto field is not repeating, cannot start list.'));
          return undefined;
        }
        if (!isJsonObject(value)) {
          out.push(invalidValue(loc.path, this.typeName(schema, loc), value));
          return undefined;
        }
        if (schema.properties) return this.walkMessage(loc.owner, schema, value, loc, out, options);
        const values = schema.additionalProperties;
        if (!values) {
          // An object without properties nor additionalProperties: any key is unknown.
          for (const key of Object.keys(value)) out.push(unknownName(loc.path, key, 'Cannot find field.'));
          return {};
        }
        if (values.type === 'any') return value; // google.protobuf.Struct
        const result: JsonObject = {};
        Object.entries(value).forEach(([key, entry], i) => {
          const entryLoc: Location = { ...loc, path: `${loc.path}[${i}].value` };
          if (entry === null) return;
          const converted = this.walk(values, entry, entryLoc, out, options);
          if (converted !== undefined) result[key] = converted;
        });
        return result;
      }
      default:
        return this.scalar(schema, value, loc, out);
    }
  }

  private scalar(schema: DiscoverySchema, value: Json, loc: Location, out: FieldViolation[]): Json | undefined {
    const typeName = this.typeName(schema, loc);
    if (Array.isArray(value)) {
      out.push(unknownName(loc.parent, loc.name, 'Proto field is not repeating, cannot start list.'));
      return undefined;
    }
    if (isJsonObject(value)) {
      out.push(unknownName(loc.parent, loc.name, 'Starting an object on a scalar field'));
      return undefined;
    }
    const bad = (detail?: string): undefined => {
      out.push(invalidValue(loc.path, typeName, value, detail));
      return undefined;
    };
    if (schema.enum) return typeof value === 'string' && schema.enum.includes(value) ? value : bad();
    switch (schema.type) {
      case 'boolean':
        return typeof value === 'boolean' ? value : bad();
      case 'integer': {
        const n =
          typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
        const min = schema.format === 'uint32' ? 0 : INT32_MIN;
        const max = schema.format === 'uint32' ? 2 ** 32 - 1 : INT32_MAX;
        return Number.isInteger(n) && n >= min && n <= max ? n : bad();
      }
      case 'number': {
        if (typeof value === 'number') return value;
        if (typeof value === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(value)) return value;
        if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
        return bad();
      }
      case 'string':
      default:
        break;
    }
    switch (schema.format) {
      case 'int64':
      case 'uint64': {
        let big: bigint | null = null;
        if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
        else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
        const min = schema.format === 'uint64' ? 0n : INT64_MIN;
        const max = schema.format === 'uint64' ? UINT64_MAX : INT64_MAX;
        return big !== null && big >= min && big <= max ? big.toString() : bad();
      }
      case 'byte':
        return typeof value === 'string' && BASE64.test(value) ? value : bad();
      case 'google-datetime': {
        if (typeof value !== 'string') return bad();
        const m = RFC3339.exec(value);
        const valid =
          m !== null &&
          !Number.isNaN(Date.parse(value)) &&
          Number(m[2]) >= 1 &&
          Number(m[2]) <= 12 &&
          Number(m[3]) >= 1 &&
          Number(m[3]) <= 31;
        return valid ? value : bad('Invalid time format: Failed to parse input');
      }
      case 'google-duration': {
        if (typeof value !== 'string') return bad();
        if (!value.endsWith('s')) return bad("Illegal duration format; duration must end with 's'");
        const m = DURATION.exec(value);
        if (!m || Number(m[2]) > MAX_DURATION_SECONDS) return bad('Invalid duration format, failed to parse seconds');
        return value;
      }
      default:
        return typeof value === 'string' ? value : bad();
    }
  }
}

const cache = new Map<string, DiscoveryModel>();

/** Default places of the discovery document: `<repo>/../shared/reference/android/…`, then `/work/shared/…`. */
export function defaultDiscoveryPaths(): string[] {
  const relative = 'shared/reference/android/androidmanagement-v1.json';
  const paths = [
    resolve(__dirname, '../../..', relative),
    resolve(process.cwd(), '..', relative),
    resolve('/work', relative),
  ];
  if (process.env.FAKE_AMAPI_DISCOVERY) paths.unshift(resolve(process.env.FAKE_AMAPI_DISCOVERY));
  return paths;
}

/** Reads and indexes the discovery document once per path (later calls reuse it). */
export function loadDiscovery(path?: string): DiscoveryModel {
  const candidates = path ? [resolve(path)] : defaultDiscoveryPaths();
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`fake-amapi: discovery document not found (tried ${candidates.join(', ')})`);
  let model = cache.get(found);
  if (!model) {
    const doc = JSON.parse(readFileSync(found, 'utf8')) as DiscoveryDocument;
    if (doc.name !== 'androidmanagement' || doc.version !== 'v1')
      throw new Error(`fake-amapi: ${found} is not the androidmanagement v1 discovery document`);
    model = new DiscoveryModel(doc);
    cache.set(found, model);
  }
  return model;
}
