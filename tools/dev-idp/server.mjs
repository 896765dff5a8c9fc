#!/usr/bin/env node
// Local OpenID Connect provider for development and tests (production uses ProConnect).
// DEV ONLY: fixed cookie keys, demo users without passwords, permissive CORS, in-memory storage.
// By default its `mdm-api` client is served as ProConnect serves a service provider (see
// proconnect.mjs): opaque 60-second access tokens, signed userinfo, nonce required, any
// authorize parameter ProConnect does not list refused; DEV_IDP_PROFILE=standard turns that off.
//
//   node tools/dev-idp/server.mjs
//
// Prints exactly one line to stdout once listening: `DEV_IDP_READY <issuer>`.
// See tools/dev-idp/README.md for the environment variables.

import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

import {
  audienceOfIdToken,
  checkAuthorize,
  checkEndSession,
  CLAIMS as PROCONNECT_CLAIMS,
  proconnectClaims,
  proconnectUsers,
  SCOPES as PROCONNECT_SCOPES,
  tamperJwt,
} from './proconnect.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

// ---------------------------------------------------------------------------
// stdout is reserved for the DEV_IDP_READY line: anything oidc-provider prints through
// console.log/info (its "you SHOULD change ..." notices) goes to stderr instead.
// ---------------------------------------------------------------------------
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------
const env = process.env;
const PORT = env.DEV_IDP_PORT === undefined || env.DEV_IDP_PORT === '' ? 3001 : Number(env.DEV_IDP_PORT);
const HOST = env.DEV_IDP_HOST || '127.0.0.1';
const AUDIENCE = env.DEV_IDP_AUDIENCE || 'mdm-apps-api';
/**
 * Where the service's sign-in comes back: by default the service's own callback, wherever `npm start`
 * serves it (PUBLIC_URL, else localhost and 127.0.0.1 on PORT, 3000 by default), so that browser
 * sign-in works on any port without naming the redirect URIs by hand.
 */
function defaultRedirectUris() {
  const port = env.PORT === undefined || env.PORT === '' ? '3000' : env.PORT;
  const uris = [`http://127.0.0.1:${port}/auth/callback`, `http://localhost:${port}/auth/callback`];
  if (env.PUBLIC_URL) uris.unshift(`${env.PUBLIC_URL.replace(/\/+$/, '')}/auth/callback`);
  return [...new Set(uris)].join(',');
}
const REDIRECT_URIS = (env.DEV_IDP_REDIRECT_URIS || defaultRedirectUris())
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const JWKS_FILE = env.DEV_IDP_JWKS_FILE || '';
const JWKS_OUT = env.DEV_IDP_JWKS_OUT || '';
const USERS_FILE = resolve(repoRoot, 'api/src/demo/demo-users.json');
// `npm start` with OIDC_PROFILE=standard gets a standard provider too (the service's setting is inherited).
const PROFILE = env.DEV_IDP_PROFILE || env.OIDC_PROFILE || 'proconnect';
if (!['proconnect', 'standard'].includes(PROFILE))
  fail(`DEV_IDP_PROFILE invalide: ${PROFILE} (proconnect ou standard)`);
/** Clients served as ProConnect serves its service providers. */
const PROCONNECT_CLIENTS = new Set(PROFILE === 'proconnect' ? ['mdm-api'] : []);
const isProConnectClient = (clientId) => PROCONNECT_CLIENTS.has(clientId);
/** Whose email a tampered userinfo answer claims (the national administrator's). */
const TAMPERED_EMAIL = 'sophie.durand@numerique.gouv.fr';

if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  fail(`DEV_IDP_PORT invalide: ${env.DEV_IDP_PORT}`);
}
if (REDIRECT_URIS.length === 0) {
  fail('DEV_IDP_REDIRECT_URIS est vide');
}

/**
 * Resource indicators (RFC 8707) must be absolute URIs, while the API expects a plain
 * `aud` such as `mdm-apps-api`. Mapping: an audience that already is a URL (`scheme://...`)
 * or a URN is used as is; otherwise the resource indicator is
 * `urn:dev-idp:audience:<audience>` and `aud` = `<audience>`.
 * api/test/support/dev-idp.ts uses the same mapping.
 */
const RESOURCE_PREFIX = 'urn:dev-idp:audience:';
function resourceFor(audience) {
  return /^([a-z][a-z0-9+.-]*:\/\/|urn:)/i.test(audience)
    ? audience
    : `${RESOURCE_PREFIX}${encodeURIComponent(audience)}`;
}
function audienceFor(resource) {
  return resource.startsWith(RESOURCE_PREFIX) ? decodeURIComponent(resource.slice(RESOURCE_PREFIX.length)) : resource;
}
const DEFAULT_RESOURCE = resourceFor(AUDIENCE);

// ---------------------------------------------------------------------------
// Demo users
// ---------------------------------------------------------------------------
/** @typedef {{ sub: string, login: string, email: string, given_name: string, usual_name: string, siret?: string, uid?: string, idp_id?: string, organizational_unit?: string, email_verified?: boolean, fault?: string }} DemoUser */
/** @type {{ users: DemoUser[], identityProviders: Record<string, string> }} */
const directory = proconnectUsers(loadUsers());
const users = directory.users;
const usersBySub = new Map(users.map((u) => [u.sub, u]));
const usersByLogin = new Map(users.map((u) => [u.login, u]));

function loadUsers() {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(USERS_FILE, 'utf8'));
  } catch (err) {
    fail(`impossible de lire ${USERS_FILE}: ${err.message}`);
  }
  const list = Array.isArray(parsed) ? parsed : parsed?.users;
  if (!Array.isArray(list) || list.length === 0) fail(`${USERS_FILE}: aucun utilisateur`);
  for (const u of list) {
    for (const field of ['sub', 'login', 'email', 'given_name', 'usual_name']) {
      if (typeof u[field] !== 'string' || !u[field]) fail(`${USERS_FILE}: champ ${field} manquant`);
    }
  }
  return list;
}

/** ProConnect's claims for its service providers; standard OpenID Connect claims for the other clients. */
function accountClaims(user, clientId) {
  if (isProConnectClient(clientId)) return proconnectClaims(user);
  return {
    sub: user.sub,
    email: user.email,
    email_verified: user.email_verified ?? true,
    given_name: user.given_name,
    usual_name: user.usual_name,
    family_name: user.usual_name,
    ...(user.siret ? { siret: user.siret } : {}),
  };
}

// ---------------------------------------------------------------------------
// Signing keys
// ---------------------------------------------------------------------------
async function loadOrCreateJwks() {
  if (JWKS_FILE) {
    let jwks;
    try {
      jwks = JSON.parse(readFileSync(JWKS_FILE, 'utf8'));
    } catch (err) {
      fail(`impossible de lire DEV_IDP_JWKS_FILE=${JWKS_FILE}: ${err.message}`);
    }
    if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0 || !jwks.keys.every((k) => k && k.d)) {
      fail('DEV_IDP_JWKS_FILE doit contenir { "keys": [JWK privées...] }');
    }
    return jwks;
  }
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  const jwks = { keys: [jwk] };
  if (JWKS_OUT) writeFileSync(JWKS_OUT, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  return jwks;
}

// ---------------------------------------------------------------------------
// In-memory adapter (own implementation: the built-in one logs a warning and is an LRU
// capped at 1000 entries, which a long test run can exceed).
// ---------------------------------------------------------------------------
const store = new Map(); // key -> { payload, expiresAt }
const grantIndex = new Map(); // grantId -> Set<key>
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}
function storeSet(key, payload, expiresIn) {
  store.set(key, {
    payload,
    expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
  });
}
const sweep = setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.delete(key);
  for (const [grantId, keys] of grantIndex) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (keys.size === 0) grantIndex.delete(grantId);
  }
}, 60_000);
sweep.unref();

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    storeSet(key, payload, expiresIn);
    if (this.model === 'Session' && payload.uid) storeSet(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) storeSet(`userCode:${payload.userCode}`, id, expiresIn);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      let keys = grantIndex.get(payload.grantId);
      if (!keys) grantIndex.set(payload.grantId, (keys = new Set()));
      keys.add(key);
    }
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    const id = storeGet(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = storeGet(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const keys = grantIndex.get(grantId);
    if (keys) for (const key of keys) store.delete(key);
    grantIndex.delete(grantId);
  }
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------
function esc(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#161616}
h1{font-size:1.5rem}ul{list-style:none;padding:0}li{margin:.5rem 0}
button{font:inherit;width:100%;text-align:left;padding:.6rem 1rem;border:1px solid #000091;background:#fff;color:#000091;cursor:pointer}
button:hover,button:focus-visible{background:#000091;color:#fff;outline:3px solid #0a76f6;outline-offset:2px}
.note{color:#666;font-size:.9rem}`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — IdP de développement</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(html);
}

function sendError(res, status, title, message) {
  sendHtml(res, status, page(title, `<h1>${esc(title)}</h1>\n<p role="alert">${esc(message)}</p>`));
}

function loginPage(uid, clientId) {
  const items = users
    .map((u) => {
      const via = u.idp_id ? ` — via ${directory.identityProviders[u.idp_id] ?? u.idp_id}` : '';
      const label = `Se connecter en tant que ${u.given_name} ${u.usual_name} (${u.login})${via}`;
      return `<li><button type="submit" name="login" value="${esc(u.login)}">${esc(label)}</button></li>`;
    })
    .join('\n');
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  return page(
    'Connexion',
    `<h1>Connexion (fournisseur d'identité de développement)</h1>
<p>Application : <strong>${esc(clientId)}</strong>. Choisissez un compte de démonstration. Aucun mot de passe n'est demandé : ce fournisseur n'existe que pour le développement et les tests.</p>
<form method="post" action="${esc(action)}">
<fieldset>
<legend>Comptes de démonstration</legend>
<ul>
${items}
</ul>
</fieldset>
</form>
<p class="note"><a href="/interaction/${esc(encodeURIComponent(uid))}/abort">Annuler et revenir à l'application</a></p>`,
  );
}

// ---------------------------------------------------------------------------
// Request helpers
// ---------------------------------------------------------------------------
const MAX_BODY = 16 * 1024;
function readUrlencoded(req) {
  return new Promise((resolveBody, reject) => {
    const type = String(req.headers['content-type'] || '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      reject(Object.assign(new Error('Content-Type attendu : application/x-www-form-urlencoded'), { status: 415 }));
      req.resume();
      return;
    }
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('Corps de requête trop volumineux'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------
async function importProvider() {
  // oidc-provider 9 warns "Unsupported runtime. Use Node.js v22.x LTS" at import time on
  // Node 20 (which it does run on). Silence only that line.
  const originalWarn = console.warn;
  console.warn = (...args) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    originalWarn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = originalWarn;
  }
}

function buildConfiguration(jwks, errors) {
  const postLogoutRedirectUris = [
    ...new Set(REDIRECT_URIS.flatMap((u) => [`${new URL(u).origin}/`, `${new URL(u).origin}/auth/logout/callback`])),
  ];
  const clientCommon = {
    redirect_uris: REDIRECT_URIS,
    post_logout_redirect_uris: postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: 'web',
  };

  return {
    adapter: MemoryAdapter,
    jwks,
    clients: [
      {
        ...clientCommon,
        client_id: 'mdm-admin-ui',
        client_name: 'MDM Apps — console',
        token_endpoint_auth_method: 'none',
      },
      isProConnectClient('mdm-api')
        ? {
            // Registered as a ProConnect service provider: client_secret_post, no refresh token,
            // id_token and userinfo signed RS256.
            ...clientCommon,
            client_id: 'mdm-api',
            client_name: 'MDM Apps — API (fournisseur de service ProConnect)',
            client_secret: 'dev-secret',
            grant_types: ['authorization_code'],
            token_endpoint_auth_method: 'client_secret_post',
            id_token_signed_response_alg: 'RS256',
            userinfo_signed_response_alg: 'RS256',
          }
        : {
            ...clientCommon,
            client_id: 'mdm-api',
            client_name: 'MDM Apps — API',
            client_secret: 'dev-secret',
            token_endpoint_auth_method: 'client_secret_basic',
          },
      {
        // A standard OpenID Connect client (a ministry's Keycloak would register it so): PKCE, JSON userinfo.
        ...clientCommon,
        client_id: 'mdm-api-standard',
        client_name: 'MDM Apps — API (OpenID Connect standard)',
        client_secret: 'dev-secret',
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(ctx, sub) {
      const user = usersBySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        async claims() {
          return accountClaims(user, ctx?.oidc?.client?.clientId);
        },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'usual_name', 'family_name'],
      ...PROCONNECT_CLAIMS,
    },
    scopes: [...new Set(['openid', 'offline_access', 'email', 'profile', ...PROCONNECT_SCOPES])],
    responseTypes: ['code'],
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    cookies: {
      keys: ['dev-idp-cookie-key-not-secret-1', 'dev-idp-cookie-key-not-secret-2'],
    },
    pkce: {
      // Public clients must use PKCE (S256 is the only method oidc-provider 9 supports).
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    clientBasedCORS: () => true, // dev only
    features: {
      devInteractions: { enabled: false },
      jwtUserinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          // ProConnect ends the session without asking (its logout is a chain of redirections).
          if (isProConnectClient(ctx.oidc.client?.clientId)) {
            ctx.body = page(
              'Déconnexion',
              `<h1>Déconnexion…</h1>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/><noscript><button type="submit">Continuer</button></noscript></form>')}
<script>document.getElementById('op.logoutForm').submit();</script>`,
            );
            return;
          }
          ctx.body = page(
            'Déconnexion',
            `<h1>Se déconnecter ?</h1>
${form}
<p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Oui, me déconnecter</button></p>
<p><button type="submit" form="op.logoutForm">Non, rester connecté</button></p>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Déconnecté', '<h1>Vous êtes déconnecté.</h1>');
        },
      },
      resourceIndicators: {
        enabled: true,
        // The public client gets JWT access tokens for the API; the backend's clients get opaque ones
        // (for the userinfo endpoint only), as from ProConnect.
        defaultResource: async (_ctx, client, oneOf) =>
          oneOf ? oneOf : client?.clientId === 'mdm-admin-ui' ? DEFAULT_RESOURCE : undefined,
        // Any resource indicator is accepted (dev convenience: tests can mint tokens for
        // another audience); the `aud` claim is derived from it (see resourceFor()).
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          let audience;
          try {
            audience = audienceFor(resourceIndicator);
          } catch {
            throw new errors.InvalidTarget('resource indicator invalide');
          }
          if (!audience) throw new errors.InvalidTarget();
          return {
            scope: 'openid profile email',
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 3600,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
        useGrantedResource: async () => true,
      },
    },
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const user = usersBySub.get(token.accountId);
      if (!user) return undefined;
      return { email: user.email, given_name: user.given_name, usual_name: user.usual_name };
    },
    // Refresh tokens for every client allowed to use the grant (no offline_access dance).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      // ProConnect's access tokens live 60 seconds.
      AccessToken: (_ctx, token, client) =>
        isProConnectClient(client?.clientId) ? 60 : (token.resourceServer?.accessTokenTTL ?? 3600),
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Interaction: 15 * 60,
      Session: 24 * 3600,
      Grant: 24 * 3600,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const details = Object.entries(out)
        .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
        .join('');
      ctx.body = page('Erreur', `<h1>Une erreur est survenue</h1>\n<dl role="alert">${details}</dl>`);
    },
  };
}

// ---------------------------------------------------------------------------
// Interactions (own minimal routes in front of provider.callback())
// ---------------------------------------------------------------------------
function interactionHandlers(provider) {
  async function autoGrantConsent(req, res, details) {
    const { prompt, params, session, grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const savedGrantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId: savedGrantId } },
      { mergeWithLastSubmission: true },
    );
  }

  async function show(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return sendError(res, 400, 'Requête invalide', 'Interaction inconnue ou expirée.');
    switch (details.prompt.name) {
      case 'login':
        return sendHtml(res, 200, loginPage(uid, details.params.client_id));
      case 'consent':
        // Demo clients are first-party: consent is granted without asking.
        return autoGrantConsent(req, res, details);
      default:
        return sendError(res, 501, 'Non pris en charge', `Étape « ${details.prompt.name} » non prise en charge.`);
    }
  }

  async function login(req, res, uid) {
    const body = await readUrlencoded(req);
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'login') {
      return sendError(res, 400, 'Requête invalide', 'Interaction inconnue, expirée ou déjà terminée.');
    }
    const user = usersByLogin.get(body.get('login') || '');
    if (!user)
      return sendError(res, 400, 'Compte inconnu', `Aucun compte de démonstration « ${body.get('login') || ''} ».`);
    // Consent (if needed) is auto-granted when oidc-provider redirects back to /interaction/:uid.
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub, amr: ['pwd'] } },
      { mergeWithLastSubmission: false },
    );
  }

  async function abort(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return sendError(res, 400, 'Requête invalide', 'Interaction inconnue ou expirée.');
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: "L'utilisateur a annulé la connexion" },
      { mergeWithLastSubmission: false },
    );
  }

  return { show, login, abort };
}

// ---------------------------------------------------------------------------
// ProConnect's strictness, in front of oidc-provider (see proconnect.mjs)
// ---------------------------------------------------------------------------
/** Answers what ProConnect would refuse (true: answered); arranges the test account's tampered userinfo. */
function proconnectRefusal(req, res, pathname, params) {
  let refusal = null;
  if (pathname === '/auth' && req.method === 'POST') {
    refusal = { status: 400, code: 'Y000400', title: 'Bad Request Exception', reason: 'seul GET est accepté' };
  } else if (pathname === '/auth' && isProConnectClient(params.get('client_id'))) {
    refusal = checkAuthorize(params);
  } else if (pathname === '/session/end' && isProConnectClient(audienceOfIdToken(params.get('id_token_hint')))) {
    refusal = checkEndSession(params);
  } else if (pathname === '/me') {
    tamperUserinfoOf(res);
  }
  if (!refusal) return false;
  sendError(res, refusal.status, `${refusal.code} : ${refusal.title}`, refusal.reason);
  return true;
}

/** The userinfo JWT of an account marked `fault: tamper-userinfo` leaves with a forged payload. */
function tamperUserinfoOf(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    const type = String(res.getHeader('content-type') || '');
    if (chunk && type.startsWith('application/jwt')) {
      const body = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      let sub;
      try {
        sub = JSON.parse(Buffer.from(body.split('.')[1], 'base64url').toString('utf8')).sub;
      } catch {
        sub = undefined;
      }
      if (usersBySub.get(sub)?.fault === 'tamper-userinfo') {
        const forged = tamperJwt(body, { email: TAMPERED_EMAIL });
        res.setHeader('content-length', Buffer.byteLength(forged));
        return end(forged, ...rest);
      }
    }
    return end(chunk, ...rest);
  };
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------
function fail(message) {
  process.stderr.write(`dev-idp: ${message}\n`);
  process.exit(1);
}

async function main() {
  const [{ default: Provider, errors }, jwks] = await Promise.all([importProvider(), loadOrCreateJwks()]);

  let handle = (_req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  const server = http.createServer((req, res) => handle(req, res));
  server.keepAliveTimeout = 5_000;

  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, () => {
      server.off('error', reject);
      resolveListen();
    });
  });

  const { port } = server.address();
  const issuerHost = HOST === '0.0.0.0' || HOST === '::' ? '127.0.0.1' : HOST.includes(':') ? `[${HOST}]` : HOST;
  const issuer = `http://${issuerHost}:${port}`;

  const provider = new Provider(issuer, buildConfiguration(jwks, errors));
  provider.on('server_error', (_ctx, err) => process.stderr.write(`dev-idp server_error: ${err?.stack || err}\n`));
  const oidc = provider.callback();
  const interactions = interactionHandlers(provider);

  handle = async (req, res) => {
    const { pathname, searchParams } = new URL(req.url || '/', issuer);
    if (PROCONNECT_CLIENTS.size > 0 && proconnectRefusal(req, res, pathname, searchParams)) return;
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(pathname);
    if (!m) return oidc(req, res);
    const [, uid, action] = m;
    try {
      if (!action && req.method === 'GET') return await interactions.show(req, res, uid);
      if (action === 'login' && req.method === 'POST') return await interactions.login(req, res, uid);
      if (action === 'abort' && (req.method === 'GET' || req.method === 'POST'))
        return await interactions.abort(req, res, uid);
      return sendError(res, 405, 'Méthode non autorisée', `${req.method} ${pathname}`);
    } catch (err) {
      if (res.headersSent) return res.end();
      if (err instanceof errors.SessionNotFound) {
        return sendError(
          res,
          400,
          'Session expirée',
          "L'interaction est introuvable ou a expiré. Recommencez la connexion depuis l'application.",
        );
      }
      if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
        return sendError(res, err.status, 'Requête invalide', err.message);
      }
      process.stderr.write(`dev-idp: ${err?.stack || err}\n`);
      return sendError(res, 500, 'Erreur interne', 'Erreur interne du fournisseur d’identité de développement.');
    }
  };

  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);

  process.stdout.write(`DEV_IDP_READY ${issuer}\n`);
}

main().catch((err) =>
  fail(
    err?.code === 'EADDRINUSE'
      ? `port ${PORT} is taken (another npm start?): stop what uses it, or set DEV_IDP_PORT to another port`
      : err?.stack || String(err),
  ),
);
