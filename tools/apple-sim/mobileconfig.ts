/**
 * .mobileconfig helpers: parse a (possibly CMS-signed) configuration profile, and build the
 * profiles the tests need (an MDM enrollment profile with a PKCS#12 identity, a restrictions
 * profile). Profiles are XML property lists (the `plist` package); signed ones are DER CMS
 * SignedData with the XML inside (cms.ts).
 */
import { randomUUID } from 'node:crypto';
import plist, { PlistValue } from 'plist';
import { CmsAttachedResult, looksLikeSignedData, Signer, signAttached, verifySignedData } from './cms';

export type PlistDict = { [key: string]: PlistValue };

export function isPlistDict(value: unknown): value is PlistDict {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}

/** A plist value under construction: dictionaries may have undefined members. */
export type PlistInput = PlistValue | undefined | readonly PlistInput[] | { readonly [key: string]: PlistInput };

function compactValue(value: PlistInput): PlistValue | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    return (value as readonly PlistInput[]).map(compactValue).filter((v): v is PlistValue => v !== undefined);
  }
  if (isPlistDict(value)) return compact(value as { readonly [key: string]: PlistInput });
  return value as PlistValue;
}

/** Removes undefined members recursively (`plist.build` would emit a <key> without a value). */
export function compact(value: { readonly [key: string]: PlistInput }): PlistDict {
  const out: PlistDict = {};
  for (const [k, v] of Object.entries(value)) {
    const c = compactValue(v);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

export function buildPlist(value: { readonly [key: string]: PlistInput }): string {
  return plist.build(compact(value));
}

export interface ParsedMobileconfig {
  profile: PlistDict;
  /** The XML text of the profile (the encapsulated content if it was signed). */
  xml: string;
  signed: boolean;
  /** For a signed profile: the CMS verification (signer certificate, validity of the signature). */
  signature?: CmsAttachedResult;
}

/**
 * Parses a .mobileconfig: XML plist text, or DER CMS SignedData (Buffer, or a 'binary'/latin1
 * string) encapsulating it. Binary plists are not supported. Throws on malformed input.
 */
export function parseMobileconfig(data: string | Buffer): ParsedMobileconfig {
  let bytes: Buffer;
  if (typeof data === 'string') {
    const trimmed = data.replace(/^\uFEFF/, '').trimStart();
    if (trimmed.startsWith('<')) return { ...parseXml(trimmed), signed: false };
    bytes = Buffer.from(data, 'latin1');
  } else {
    bytes = data;
  }
  if (looksLikeSignedData(bytes)) {
    const signature = verifySignedData(bytes);
    if (!signature.content) throw new Error(`unreadable signed profile: ${signature.reason}`);
    return { ...parseXml(signature.content.toString('utf8')), signed: true, signature };
  }
  if (bytes.subarray(0, 8).toString('latin1') === 'bplist00')
    throw new Error('binary property lists are not supported');
  return { ...parseXml(bytes.toString('utf8')), signed: false };
}

function parseXml(xml: string): { profile: PlistDict; xml: string } {
  const text = xml.replace(/^\uFEFF/, '');
  if (!/<plist[\s>]/.test(text)) throw new Error('not a property list');
  const value = plist.parse(text);
  if (!isPlistDict(value)) throw new Error('the profile is not a dictionary');
  return { profile: value, xml: text };
}

/** PayloadContent of a profile (dictionaries only). */
export function payloadsOf(profile: PlistDict): PlistDict[] {
  const content = profile.PayloadContent;
  return Array.isArray(content) ? content.filter(isPlistDict) : [];
}

export interface EnrollmentProfileOptions {
  serverUrl: string;
  /** Default: the same as serverUrl (Apple: check-in messages then go to ServerURL). */
  checkInUrl?: string;
  topic: string;
  /** The device identity delivered in the profile (createIdentity()). */
  identity: { p12: Buffer; p12Password: string };
  /** Put the PKCS#12 password in the payload (default true; iOS asks the user otherwise). */
  includePassword?: boolean;
  /** Default true. */
  signMessage?: boolean;
  /** Default 8191 (all rights). */
  accessRights?: number;
  checkOutWhenRemoved?: boolean;
  serverCapabilities?: string[];
  /** Default 'fr.gouv.mdm.enrollment'. */
  identifier?: string;
  organization?: string;
  displayName?: string;
  /** More payloads (e.g. a com.apple.security.root CA payload). */
  extraPayloads?: PlistDict[];
}

/** An MDM enrollment profile (com.apple.mdm + com.apple.security.pkcs12), XML. */
export function buildEnrollmentProfile(options: EnrollmentProfileOptions): string {
  const identifier = options.identifier ?? 'fr.gouv.mdm.enrollment';
  const identityUuid = randomUUID().toUpperCase();
  const identityPayload: PlistDict = {
    PayloadType: 'com.apple.security.pkcs12',
    PayloadVersion: 1,
    PayloadIdentifier: `${identifier}.identity`,
    PayloadUUID: identityUuid,
    PayloadDisplayName: 'Device identity',
    PayloadContent: options.identity.p12,
  };
  if (options.includePassword !== false) identityPayload.Password = options.identity.p12Password;
  const mdmPayload: PlistDict = {
    PayloadType: 'com.apple.mdm',
    PayloadVersion: 1,
    PayloadIdentifier: `${identifier}.mdm`,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: 'MDM',
    ServerURL: options.serverUrl,
    CheckInURL: options.checkInUrl ?? options.serverUrl,
    Topic: options.topic,
    IdentityCertificateUUID: identityUuid,
    SignMessage: options.signMessage ?? true,
    AccessRights: options.accessRights ?? 8191,
    CheckOutWhenRemoved: options.checkOutWhenRemoved ?? true,
    ServerCapabilities: options.serverCapabilities ?? [],
  };
  return buildPlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: options.displayName ?? 'MDM enrollment',
    PayloadOrganization: options.organization ?? 'apple-sim',
    PayloadContent: [identityPayload, mdmPayload, ...(options.extraPayloads ?? [])],
  });
}

export interface RestrictionsProfileOptions {
  identifier: string;
  blockedAppBundleIDs?: string[];
  allowListedAppBundleIDs?: string[];
  /** Other com.apple.applicationaccess keys (e.g. allowAppInstallation: false). */
  restrictions?: PlistDict;
  displayName?: string;
  organization?: string;
  /** Extra top-level keys (e.g. PayloadRemovalDisallowed). */
  topLevel?: PlistDict;
}

/** A configuration profile with one com.apple.applicationaccess payload, XML. */
export function buildRestrictionsProfile(options: RestrictionsProfileOptions): string {
  const payload: PlistDict = {
    PayloadType: 'com.apple.applicationaccess',
    PayloadVersion: 1,
    PayloadIdentifier: `${options.identifier}.restrictions`,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: 'Restrictions',
    ...(options.restrictions ?? {}),
  };
  if (options.blockedAppBundleIDs) payload.blockedAppBundleIDs = options.blockedAppBundleIDs;
  if (options.allowListedAppBundleIDs) payload.allowListedAppBundleIDs = options.allowListedAppBundleIDs;
  return buildPlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: options.identifier,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: options.displayName ?? 'App restrictions',
    PayloadOrganization: options.organization ?? 'apple-sim',
    ...(options.topLevel ?? {}),
    PayloadContent: [payload],
  });
}

/** A signed profile: DER CMS SignedData with the XML inside. */
export function signProfile(xml: string, signer: Signer): Buffer {
  return signAttached(Buffer.from(xml, 'utf8'), signer);
}
