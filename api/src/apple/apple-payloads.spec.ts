import { join } from 'node:path';
import { loadPolicyFiles } from '../policies/as-code/policy-files';
import { resolveEffectivePolicy } from '../policies/effective-policy.resolver';
import type { EffectivePolicy } from '../policies/effective-policy.types';
import { NATIONAL_SCOPE } from '../policies/policy.types';
import { PlistDict, policyProfile } from './apple-payloads';
import { appleSystemApps, parseAppleSystemApps } from './apple-system-apps';

const POLICIES = join(__dirname, '../../../policies');

/** The effective policy a ministry's phones get, compiled from the policy files in the repository. */
function effectiveOf(ministry: string, edit?: (state: ReturnType<typeof loadPolicyFiles>) => void): EffectivePolicy {
  const state = loadPolicyFiles(POLICIES);
  edit?.(state);
  return resolveEffectivePolicy({
    national: { scope: NATIONAL_SCOPE, version: 1, content: state.policies[NATIONAL_SCOPE] },
    ministry: { scope: ministry, version: 1, content: state.policies[ministry] },
    catalog: new Map(state.catalog.map((a) => [a.slug, a])),
  });
}

function restrictionsOf(profile: PlistDict): PlistDict {
  const content = profile.PayloadContent as PlistDict[];
  return content.find((p) => p.PayloadType === 'com.apple.applicationaccess') as PlistDict;
}

const webClipsOf = (profile: PlistDict) =>
  (profile.PayloadContent as PlistDict[]).filter((p) => p.PayloadType === 'com.apple.webClip.managed');

describe('the allow-list profile (Armées)', () => {
  const policy = effectiveOf('armees');
  const profile = policyProfile(policy);
  const allowed = restrictionsOf(profile).allowListedAppBundleIDs as string[];

  it('is the allow-list mode of the real policy, with a required web clip (Visio)', () => {
    expect(policy.mode).toBe('allowlist');
    expect(webClipsOf(profile).length).toBeGreaterThan(0);
    expect(restrictionsOf(profile).blockedAppBundleIDs).toBeUndefined();
  });

  it('keeps every Apple system app of the maintained, cited list (Phone, Messages, Settings…)', () => {
    const system = appleSystemApps();
    expect(system.source.url).toMatch(/^https:\/\/support\.apple\.com\//);
    for (const app of system.apps) expect(allowed).toContain(app.bundleId);
    expect(allowed).toEqual(
      expect.arrayContaining(['com.apple.mobilephone', 'com.apple.MobileSMS', 'com.apple.Preferences']),
    );
  });

  it('lets the required web clip through (com.apple.webapp), and the ministry’s own apps', () => {
    expect(allowed).toContain('com.apple.webapp');
    for (const app of policy.apps.filter((a) => a.action !== 'block'))
      for (const b of app.ios) expect(allowed).toContain(b);
    // Sorted and unique: the same policy always gives byte-identical profiles.
    expect([...new Set(allowed)].sort()).toEqual(allowed);
  });

  it('does not add com.apple.webapp when no web clip is required', () => {
    const noClip = effectiveOf('armees', (state) => {
      const webOnly = new Set(state.catalog.filter((a) => a.ios.length === 0).map((a) => a.slug));
      for (const scope of [NATIONAL_SCOPE, 'armees'])
        state.policies[scope] = {
          ...state.policies[scope],
          rules: state.policies[scope].rules.filter((r) => !webOnly.has(r.app)),
        };
    });
    const p = policyProfile(noClip);
    expect(webClipsOf(p)).toEqual([]);
    const list = restrictionsOf(p).allowListedAppBundleIDs as string[];
    expect(list).not.toContain('com.apple.webapp');
    expect(list).toContain('com.apple.mobilephone');
  });
});

describe('a blocklist profile', () => {
  it('blocks apps and lists no system app', () => {
    const restrictions = restrictionsOf(policyProfile(effectiveOf('interieur')));
    expect(restrictions.allowListedAppBundleIDs).toBeUndefined();
    expect(restrictions.blockedAppBundleIDs).toContain('com.zhiliaoapp.musically');
    expect(restrictions.blockedAppBundleIDs).not.toContain('com.apple.mobilephone');
  });
});

describe('the system apps file', () => {
  it('is refused without a citation, or with a malformed bundle ID', () => {
    expect(() => parseAppleSystemApps('webClips: com.apple.webapp\napps: []\n')).toThrow(/source.url/);
    expect(() =>
      parseAppleSystemApps(
        'source: {title: t, url: "https://support.apple.com/x", reviewed: "2026"}\nwebClips: com.apple.webapp\napps:\n  - {bundleId: "not a bundle", name: n, why: w}\n',
      ),
    ).toThrow(/apps\[0\]/);
  });
});
