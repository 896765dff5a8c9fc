// What makes the loopback provider answer like ProConnect, read against its service-provider
// documentation (numerique-gouv/proconnect-documentation, doc_fs/implementation_technique.md and
// doc_fs/donnees_fournies.md): the authorize parameters it accepts (anything else is
// `Y000400 Bad Request`), `state` and `nonce` of at least 32 characters, its scopes and claims,
// the identity providers behind it, and the logout parameters it requires.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The only query parameters ProConnect's authorize endpoint accepts. */
export const AUTHORIZE_PARAMETERS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'claims',
  'state',
  'nonce',
  'prompt',
  'idp_hint',
]);

/** ProConnect's scopes; `profile` is not one of them. */
export const SCOPES = [
  'openid',
  'given_name',
  'usual_name',
  'email',
  'uid',
  'siret',
  'siren',
  'organizational_unit',
  'belonging_population',
  'phone',
  'chorusdt',
  'idp_id',
];

/** Scope → claims, as ProConnect maps them. */
export const CLAIMS = {
  given_name: ['given_name'],
  usual_name: ['usual_name'],
  uid: ['uid'],
  siret: ['siret'],
  siren: ['siren'],
  organizational_unit: ['organizational_unit'],
  belonging_population: ['belonging_population'],
  phone: ['phone_number'],
  chorusdt: ['chorusdt'],
  idp_id: ['idp_id'],
};

const MIN_RANDOM = 32;

/** ProConnect's answer to a request it does not accept: an error page, HTTP 400. */
export function badRequest(reason) {
  return { status: 400, code: 'Y000400', title: 'Bad Request Exception', reason };
}

/**
 * The authorize request of a ProConnect service provider: null when ProConnect would accept it,
 * else why it would answer `Y000400`.
 */
export function checkAuthorize(params) {
  const unknown = [...new Set(params.keys())].filter((name) => !AUTHORIZE_PARAMETERS.has(name));
  if (unknown.length > 0) return badRequest(`paramètre(s) non autorisé(s) : ${unknown.join(', ')}`);
  for (const name of params.keys()) {
    if (params.getAll(name).length > 1) return badRequest(`paramètre ${name} répété`);
  }
  for (const name of ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce']) {
    if (!params.get(name)) return badRequest(`paramètre ${name} manquant`);
  }
  if (params.get('response_type') !== 'code') return badRequest('response_type doit valoir code');
  for (const name of ['state', 'nonce']) {
    if (params.get(name).length < MIN_RANDOM)
      return badRequest(`${name} doit compter au moins ${MIN_RANDOM} caractères`);
  }
  const scopes = params.get('scope').split(/[ +]/).filter(Boolean);
  if (!scopes.includes('openid')) return badRequest('le scope openid est obligatoire');
  const foreign = scopes.filter((s) => !SCOPES.includes(s));
  if (foreign.length > 0) return badRequest(`scope(s) inconnu(s) : ${foreign.join(', ')}`);
  return null;
}

/** The logout request: ProConnect requires id_token_hint, state and post_logout_redirect_uri. */
export function checkEndSession(params) {
  for (const name of ['id_token_hint', 'state', 'post_logout_redirect_uri']) {
    if (!params.get(name)) return badRequest(`paramètre ${name} manquant`);
  }
  return null;
}

/** The client an id_token_hint was issued to (its `aud`), without verifying it (the provider does). */
export function audienceOfIdToken(idToken) {
  try {
    const payload = JSON.parse(Buffer.from(String(idToken).split('.')[1] ?? '', 'base64url').toString('utf8'));
    return Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
  } catch {
    return undefined;
  }
}

/**
 * The demo users (api/src/demo/demo-users.json) with ProConnect's claims added from their email
 * domain, followed by the accounts only the provider knows (tools/dev-idp/proconnect-accounts.json).
 */
export function proconnectUsers(demoUsers) {
  const file = JSON.parse(readFileSync(resolve(here, 'proconnect-accounts.json'), 'utf8'));
  const derived = demoUsers.map((user) => {
    const domain = user.email.split('@')[1];
    const org = file.byEmailDomain[domain] ?? {};
    return {
      uid: user.login,
      ...org,
      ...user,
      ...(user.siret ? { siret: user.siret } : {}),
    };
  });
  return { users: [...derived, ...file.accounts], identityProviders: file.identityProviders };
}

/** What ProConnect's userinfo says of a user (it never sends email_verified: a test account may). */
export function proconnectClaims(user) {
  return {
    sub: user.sub,
    email: user.email,
    given_name: user.given_name,
    usual_name: user.usual_name,
    ...(user.uid ? { uid: user.uid } : {}),
    ...(user.siret ? { siret: user.siret, siren: user.siret.slice(0, 9) } : {}),
    ...(user.idp_id ? { idp_id: user.idp_id } : {}),
    ...(user.organizational_unit ? { organizational_unit: user.organizational_unit } : {}),
    belonging_population: 'agent',
    ...(user.email_verified === false ? { email_verified: false } : {}),
  };
}

/**
 * A userinfo JWT altered in transit (the test account with `fault: tamper-userinfo`): its payload
 * now claims the national administrator's email, its signature is the original one.
 */
export function tamperJwt(jwt, changes) {
  const [header, payload, signature] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const forged = Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}
