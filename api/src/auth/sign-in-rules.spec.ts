import { loadConfig } from '../config/app-config';
import { AuthError } from './auth.error';
import { withDefaults } from './auth.module';
import { identityFrom } from './identity';
import { safeReturnTo } from './oidc-login.service';

const PUBLIC_URL = 'https://mdm.numerique.gouv.fr';

describe('returnTo after sign-in stays on our origin', () => {
  it.each([
    ['/\\evil.example/phish'],
    ['//evil.example'],
    ['/.//evil.example'],
    ['///evil.example'],
    ['https://evil.example/'],
    ['http://mdm.numerique.gouv.fr/'], // another scheme is another origin
    ['javascript:alert(1)'],
    ['/\tevil'],
    ['\\\\evil.example'],
    [''],
    [undefined],
    ['/x'.repeat(1500)],
  ])('%j goes to /', (returnTo) => {
    expect(safeReturnTo(returnTo, PUBLIC_URL)).toBe('/');
  });

  it.each([
    ['/me', '/me'],
    ['/#/agent/demandes', '/#/agent/demandes'],
    ['/me?x=1#frag', '/me?x=1#frag'],
    ['me', '/me'],
    [`${PUBLIC_URL}/ministries/interieur/devices`, '/ministries/interieur/devices'],
  ])('%j is kept as %j', (returnTo, expected) => {
    expect(safeReturnTo(returnTo, PUBLIC_URL)).toBe(expected);
  });
});

describe('identity claims', () => {
  const claims = {
    sub: 'abc',
    email: 'Ines.Moreau@interieur.gouv.fr',
    given_name: 'Inès',
    usual_name: 'Moreau',
    uid: 'imoreau',
    idp_id: 'fi-interieur',
    siret: '110 014 016 00015',
    organizational_unit: 'DICOM',
  };
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as AuthError).code;
    }
    return 'accepted';
  };

  it('normalises what ProConnect sends', () => {
    expect(identityFrom(claims, true)).toEqual({
      sub: 'abc',
      email: 'ines.moreau@interieur.gouv.fr',
      emailVerified: true,
      givenName: 'Inès',
      usualName: 'Moreau',
      uid: 'imoreau',
      idpId: 'fi-interieur',
      siret: '11001401600015',
      siren: null,
      organizationalUnit: 'DICOM',
    });
    expect(identityFrom({ sub: 'x', family_name: 'Durand' }, true)).toMatchObject({
      usualName: 'Durand',
      email: '',
      emailVerified: false,
    });
    expect(identityFrom({ ...claims, siret: '123' }, true).siret).toBeNull();
  });

  it.each([
    ['no sub', { ...claims, sub: undefined }, 'invalid-token'],
    ['an empty sub', { ...claims, sub: '' }, 'invalid-token'],
    ['a blank sub', { ...claims, sub: ' \t' }, 'invalid-token'],
    ['a numeric sub', { ...claims, sub: 42 }, 'invalid-token'],
    ['a NUL in the sub', { ...claims, sub: 'a\u0000' }, 'invalid-token'],
    ['a sub too long', { ...claims, sub: 'a'.repeat(256) }, 'invalid-token'],
    ['a lone surrogate in a name', { ...claims, given_name: 'In\ud800s' }, 'invalid-token'],
    ['a NUL in the email', { ...claims, email: 'a\u0000@b.fr' }, 'invalid-token'],
    ['an email that is not a string', { ...claims, email: ['a@b.fr'] }, 'invalid-token'],
    ['email_verified: false', { ...claims, email_verified: false }, 'unverified-email'],
    ['email_verified: "false"', { ...claims, email_verified: 'false' }, 'unverified-email'],
  ])('refuses %s', (_name, given, expected) => {
    expect(code(() => identityFrom(given, true))).toBe(expected);
  });
});

describe('sign-in settings', () => {
  it('defaults to ProConnect, RS256 and no extra scope, and refuses what is not a profile or an algorithm', () => {
    const config = loadConfig({});
    expect([config.OIDC_PROFILE, config.OIDC_SIGNING_ALG, config.OIDC_EXTRA_SCOPES]).toEqual([
      'proconnect',
      'RS256',
      [],
    ]);
    expect(loadConfig({ OIDC_EXTRA_SCOPES: 'siren, organizational_unit' }).OIDC_EXTRA_SCOPES).toEqual([
      'siren',
      'organizational_unit',
    ]);
    expect(() => loadConfig({ OIDC_PROFILE: 'keycloak' })).toThrow(/OIDC_PROFILE must be proconnect or standard/);
    expect(() => loadConfig({ OIDC_SIGNING_ALG: 'HS256' })).toThrow(/OIDC_SIGNING_ALG/);
  });

  it('refuses at start-up a scope ProConnect does not know, which it would answer with an error', () => {
    const base = { issuer: 'https://auth.agentconnect.gouv.fr/api/v2', audience: 'x', signingAlg: 'RS256' };
    expect(() => withDefaults({ ...base, profile: 'proconnect', extraScopes: ['profile'] })).toThrow(
      /OIDC_EXTRA_SCOPES: profile is not a ProConnect scope/,
    );
    expect(withDefaults({ ...base, profile: 'proconnect', extraScopes: ['siren'] }).extraScopes).toEqual(['siren']);
    expect(withDefaults({ ...base, profile: 'standard', extraScopes: ['profile'] }).extraScopes).toEqual(['profile']);
  });
});
