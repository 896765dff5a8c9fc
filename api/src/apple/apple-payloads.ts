import plist from 'plist';
import { createHash } from 'node:crypto';
import type { EffectivePolicy } from '../policies/effective-policy.resolver';
import { appleSystemApps } from './apple-system-apps';

/** A plist value as the `plist` package builds it. */
export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | { [key: string]: PlistValue };
export type PlistDict = { [key: string]: PlistValue };

/** Stable across versions, so each new profile replaces the previous one (InstallProfile). */
export const POLICY_PROFILE_IDENTIFIER = 'fr.gouv.numerique.mdm-apps.policy';
const ORGANIZATION = 'État — politique applicative des téléphones professionnels';

/** A UUID derived from content: the same policy always yields the same payload UUIDs. */
export function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

/**
 * The device's app policy as one configuration profile: a Restrictions payload
 * (`com.apple.applicationaccess`, `blockedAppBundleIDs` in blocklist mode or
 * `allowListedAppBundleIDs` in allowlist mode — iOS 15+, supervised devices) and a web clip per
 * required web app (Visio). Same identifier every time: a new version replaces the old one.
 */
export function policyProfile(policy: EffectivePolicy): PlistDict {
  const bundles = (action: 'block' | 'allow') =>
    [
      ...new Set(
        policy.apps
          .filter((a) => (action === 'block' ? a.action === 'block' : a.action !== 'block'))
          .flatMap((a) => a.ios),
      ),
    ].sort();
  const restrictions: PlistDict = {
    PayloadType: 'com.apple.applicationaccess',
    PayloadVersion: 1,
    PayloadIdentifier: `${POLICY_PROFILE_IDENTIFIER}.restrictions`,
    PayloadUUID: uuidFrom(`restrictions:${policy.hash}`),
    PayloadDisplayName: 'Applications interdites',
  };
  const webClips: PlistDict[] = policy.apps
    .filter((a) => a.action === 'require' && a.ios.length === 0 && a.web)
    .map((a) => ({
      PayloadType: 'com.apple.webClip.managed',
      PayloadVersion: 1,
      PayloadIdentifier: `${POLICY_PROFILE_IDENTIFIER}.webclip.${a.app}`,
      PayloadUUID: uuidFrom(`webclip:${a.app}:${a.web}`),
      PayloadDisplayName: a.name,
      Label: a.name,
      URL: a.web as string,
      IsRemovable: false,
      FullScreen: true,
    }));
  if (policy.mode === 'allowlist') {
    // An allow-list hides everything else, Apple's own apps and web clips included: the maintained
    // list of system apps (policies/apple/system-apps.yaml) and com.apple.webapp when a clip is required.
    const system = appleSystemApps();
    restrictions.allowListedAppBundleIDs = [
      ...new Set([
        ...bundles('allow'),
        ...system.apps.map((a) => a.bundleId),
        ...(webClips.length > 0 ? [system.webClips] : []),
      ]),
    ].sort();
    // A new system list is a new profile for every allow-listed iPhone (same policy hash otherwise).
    restrictions.PayloadUUID = uuidFrom(`restrictions:${policy.hash}:${system.digest}`);
  } else restrictions.blockedAppBundleIDs = bundles('block');
  return {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: POLICY_PROFILE_IDENTIFIER,
    PayloadUUID: uuidFrom(`profile:${policy.hash}`),
    PayloadDisplayName: 'Politique applicative de l’État',
    PayloadDescription: `Applications bloquées ou exigées sur ce téléphone professionnel (politique ${policy.hash.slice(0, 12)}).`,
    PayloadOrganization: ORGANIZATION,
    PayloadRemovalDisallowed: true,
    PayloadContent: [restrictions, ...webClips],
  };
}

export function toPlistXml(value: PlistDict): string {
  return plist.build(value as unknown as plist.PlistValue);
}

/** The `Command` dictionaries this server sends, as Apple's schema names them. */
export const commands = {
  installProfile: (profile: PlistDict): PlistDict => ({
    RequestType: 'InstallProfile',
    Payload: Buffer.from(toPlistXml(profile), 'utf8'),
  }),
  removeProfile: (identifier: string): PlistDict => ({ RequestType: 'RemoveProfile', Identifier: identifier }),
  /** App Store app by bundle ID, installed as managed (so that it can be removed by MDM later). */
  installApplication: (bundleId: string): PlistDict => ({
    RequestType: 'InstallApplication',
    Identifier: bundleId,
    InstallAsManaged: true,
    ManagementFlags: 1,
  }),
  removeApplication: (bundleId: string): PlistDict => ({ RequestType: 'RemoveApplication', Identifier: bundleId }),
  installedApplicationList: (): PlistDict => ({ RequestType: 'InstalledApplicationList' }),
  managedApplicationList: (): PlistDict => ({ RequestType: 'ManagedApplicationList' }),
  deviceInformation: (): PlistDict => ({
    RequestType: 'DeviceInformation',
    Queries: [
      'UDID',
      'IsSupervised',
      'OSVersion',
      'BuildVersion',
      'Model',
      'ModelName',
      'ProductName',
      'SerialNumber',
      'DeviceName',
    ],
  }),
};
