import { resolve } from 'node:path';
import { loadPolicyFiles } from '../policies/as-code/policy-files';
import { resolveEffectivePolicy } from '../policies/effective-policy.resolver';
import { NATIONAL_SCOPE, PolicyContent } from '../policies/policy.types';
import { compileAmapiPolicy } from './amapi-policy.compiler';

/** The repository's policy-as-code files, as a ministry's phones get them. */
const state = loadPolicyFiles(resolve(__dirname, '../../../policies'));
const catalog = new Map(state.catalog.map((a) => [a.slug, a]));
const VISIO_PACKAGE = 'com.google.enterprise.webapp.x1visio';
const webApps = new Map([['https://visio.numerique.gouv.fr', VISIO_PACKAGE]]);

function compiled(ministry: string, content: PolicyContent = state.policies[ministry]) {
  const effective = resolveEffectivePolicy({
    national: { scope: NATIONAL_SCOPE, version: 1, content: state.policies[NATIONAL_SCOPE] },
    ministry: { scope: ministry, version: 1, content },
    catalog,
  });
  return { effective, policy: compileAmapiPolicy(effective, webApps) };
}

const installTypeOf = (list: { packageName?: string | null; installType?: string | null }[] | undefined, pkg: string) =>
  list?.find((a) => a.packageName === pkg)?.installType;

describe('AMAPI policy compiler', () => {
  const variants: [string, string[]][] = [
    ['tiktok', ['com.zhiliaoapp.musically', 'com.zhiliaoapp.musically.go', 'com.ss.android.ugc.trill']],
    ['facebook', ['com.facebook.katana', 'com.facebook.lite']],
    ['instagram', ['com.instagram.android', 'com.instagram.lite']],
    ['telegram', ['org.telegram.messenger', 'org.thunderdog.challegram']],
    ['x', ['com.twitter.android', 'com.twitter.android.lite']],
  ];

  it.each(variants)('blocks every package of %s, on the work side and the personal side', (slug, packages) => {
    expect(catalog.get(slug)?.android).toEqual(expect.arrayContaining(packages));
    const { policy } = compiled('interieur');
    for (const pkg of [...packages, ...(catalog.get(slug)?.android ?? [])]) {
      expect([pkg, installTypeOf(policy.applications, pkg)]).toEqual([pkg, 'BLOCKED']);
      expect([pkg, installTypeOf(policy.personalUsagePolicies?.personalApplications, pkg)]).toEqual([pkg, 'BLOCKED']);
    }
    expect(policy.personalUsagePolicies?.personalPlayStoreMode).toBe('BLOCKLIST');
  });

  it('blocks WhatsApp Business with WhatsApp (the baseline names both)', () => {
    const { policy } = compiled('culture');
    expect(installTypeOf(policy.applications, 'com.whatsapp')).toBe('BLOCKED');
    expect(installTypeOf(policy.applications, 'com.whatsapp.w4b')).toBe('BLOCKED');
  });

  it('keeps iOS bundle IDs of the variants that exist there', () => {
    expect(catalog.get('whatsapp-business')?.ios).toEqual(['net.whatsapp.WhatsAppSMB']);
    expect(catalog.get('tiktok')?.ios).toEqual(['com.zhiliaoapp.musically']);
  });

  it('governs the personal side of an allow-list ministry’s company phones with the same allow-list', () => {
    const { effective, policy } = compiled('armees');
    expect(effective.personalSide).toBe('allowlist');
    expect(policy.playStoreMode).toBe('WHITELIST');
    const personal = policy.personalUsagePolicies;
    expect(personal?.personalPlayStoreMode).toBe('ALLOWLIST');
    const allowed = (personal?.personalApplications ?? []).map((a) => a.packageName);
    // Tchap (required), Outlook (allowed): installable on the personal side; TikTok is not, nor any app off the list.
    expect(allowed).toEqual(expect.arrayContaining(['fr.gouv.tchap.a', 'com.microsoft.office.outlook']));
    expect(allowed).not.toContain('com.zhiliaoapp.musically');
    expect(allowed).not.toContain(VISIO_PACKAGE); // a web app lives in the work profile only
    expect(personal?.personalApplications?.every((a) => a.installType === 'AVAILABLE')).toBe(true);
  });

  it('states a disallowed personal side: nothing installable there, and a different hash', () => {
    const allow = compiled('armees');
    const disallow = compiled('armees', { ...state.policies.armees, personalSide: 'disallowed' });
    expect(disallow.effective.personalSide).toBe('disallowed');
    expect(disallow.policy.personalUsagePolicies).toEqual({
      personalPlayStoreMode: 'ALLOWLIST',
      personalApplications: [],
    });
    expect(disallow.policy.applications).toEqual(allow.policy.applications);
    expect(disallow.effective.hash).not.toBe(allow.effective.hash);
  });

  it('leaves a blocklist ministry’s hash alone (personalSide is an allow-list setting)', () => {
    const { effective } = compiled('interieur');
    expect(effective.personalSide).toBeUndefined();
  });
});
