/**
 * Test helpers around the local OpenID Connect provider (tools/dev-idp/server.mjs).
 *
 * - startDevIdp(): spawns the provider on a random port and waits for `DEV_IDP_READY <issuer>`.
 * - getToken(): obtains a real access token (RS256 JWT, aud = audience) for a demo user through
 *   the authorization code flow with PKCE, over HTTP, exactly as a browser would (manual
 *   redirects, cookies kept between requests), with the public client `mdm-admin-ui` (the
 *   provider's `mdm-api` answers as ProConnect: opaque access tokens, no PKCE, so not this way).
 *
 * CommonJS-friendly: only node built-ins and the global fetch are used.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEV_IDP_DEFAULT_AUDIENCE = 'mdm-apps-api';
export const DEV_IDP_DEFAULT_REDIRECT_URIS: readonly string[] = [
  'http://127.0.0.1:3000/auth/callback',
  'http://localhost:3000/auth/callback',
];
export const DEV_IDP_PUBLIC_CLIENT_ID = 'mdm-admin-ui';
export const DEV_IDP_CONFIDENTIAL_CLIENT_ID = 'mdm-api';
export const DEV_IDP_CONFIDENTIAL_CLIENT_SECRET = 'dev-secret';

export interface StartDevIdpOptions {
  /** `aud` of the access tokens (default `mdm-apps-api`). */
  audience?: string;
  /** Redirect URIs registered for both clients (default: http://{127.0.0.1,localhost}:3000/auth/callback). */
  redirectUris?: string[];
  /** Where the provider writes its private JWKS (default: a file in a fresh temp dir, removed by stop()). */
  jwksOut?: string;
}

export interface DevIdp {
  /** e.g. `http://127.0.0.1:43817` (no trailing slash). */
  issuer: string;
  audience: string;
  /** Path of the private JWKS (`{ "keys": [JWK] }`) the provider signs with: lets tests forge tokens. */
  jwksOutPath: string;
  stop(): Promise<void>;
}

export interface GetTokenOptions {
  /** Requested audience (default: the one the provider was started with, else `mdm-apps-api`). */
  audience?: string;
  /** Default `mdm-admin-ui` (public client). `mdm-api` authenticates with `dev-secret`. */
  clientId?: string;
  /** Default: the first redirect URI the provider was started with. */
  redirectUri?: string;
  /** Only for a confidential client; `mdm-api` defaults to `dev-secret`. */
  clientSecret?: string;
}

const SERVER_PATH = resolve(__dirname, '..', '..', '..', 'tools', 'dev-idp', 'server.mjs');
const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const MAX_STDERR = 64 * 1024;
const MAX_FLOW_STEPS = 20;

/** Resource indicators must be absolute URIs: same mapping as tools/dev-idp/server.mjs. */
const RESOURCE_PREFIX = 'urn:dev-idp:audience:';
export function devIdpResourceFor(audience: string): string {
  return /^([a-z][a-z0-9+.-]*:\/\/|urn:)/i.test(audience)
    ? audience
    : `${RESOURCE_PREFIX}${encodeURIComponent(audience)}`;
}

/** What startDevIdp() knows about the providers it started in this process (defaults for getToken). */
const started = new Map<string, { audience: string; redirectUris: string[] }>();

export function startDevIdp(opts: StartDevIdpOptions = {}): Promise<DevIdp> {
  const audience = opts.audience ?? DEV_IDP_DEFAULT_AUDIENCE;
  const redirectUris = opts.redirectUris?.length ? [...opts.redirectUris] : [...DEV_IDP_DEFAULT_REDIRECT_URIS];
  const tempDir = opts.jwksOut ? undefined : mkdtempSync(join(tmpdir(), 'dev-idp-'));
  const jwksOutPath = opts.jwksOut ?? join(tempDir as string, 'jwks.json');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEV_IDP_PORT: '0',
    DEV_IDP_HOST: '127.0.0.1',
    DEV_IDP_AUDIENCE: audience,
    DEV_IDP_REDIRECT_URIS: redirectUris.join(','),
    DEV_IDP_JWKS_OUT: jwksOutPath,
    // The tests speak to mdm-api as to ProConnect, whatever the shell that runs them says.
    DEV_IDP_PROFILE: 'proconnect',
  };
  // Always generate a fresh key, so that jwksOutPath is the key actually in use.
  delete env.DEV_IDP_JWKS_FILE;

  const child = spawn(process.execPath, [SERVER_PATH], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-MAX_STDERR);
  });

  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', () => resolveExit());
  });
  const killOnParentExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnParentExit);

  const cleanupTemp = (): void => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnParentExit);
      cleanupTemp();
    })();
    return stopping;
  };

  return new Promise<DevIdp>((resolveStart, rejectStart) => {
    let settled = false;
    let stdoutBuffer = '';

    const settle = (error: Error | undefined, issuer?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        void stop().then(() => rejectStart(error));
        return;
      }
      const issuerValue = issuer as string;
      started.set(issuerValue, { audience, redirectUris });
      resolveStart({
        issuer: issuerValue,
        audience,
        jwksOutPath,
        stop: async () => {
          started.delete(issuerValue);
          await stop();
        },
      });
    };

    const timer = setTimeout(() => {
      settle(new Error(`dev-idp did not become ready within ${START_TIMEOUT_MS} ms. stderr:\n${stderr}`));
    }, START_TIMEOUT_MS);

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (settled) return; // keep draining the pipe
      stdoutBuffer += chunk;
      let newline: number;
      while ((newline = stdoutBuffer.indexOf('\n')) !== -1) {
        const line = stdoutBuffer.slice(0, newline).trim();
        stdoutBuffer = stdoutBuffer.slice(newline + 1);
        const match = /^DEV_IDP_READY (\S+)$/.exec(line);
        if (match) {
          settle(undefined, match[1]);
          return;
        }
      }
    });

    child.once('error', (err: Error) => {
      settle(new Error(`dev-idp could not be started: ${err.message}. stderr:\n${stderr}`));
    });
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      // Give the stderr pipe a moment to flush before reporting.
      setImmediate(() => {
        settle(new Error(`dev-idp exited before being ready (code ${code}, signal ${signal}). stderr:\n${stderr}`));
      });
    });
  });
}

// ---------------------------------------------------------------------------
// Authorization code + PKCE flow
// ---------------------------------------------------------------------------

interface CachedToken {
  accessToken: string;
  /** epoch seconds */
  exp: number;
}

const tokenCache = new Map<string, Promise<CachedToken>>();

/** Obtains (and caches per issuer + login, and per audience/client/redirect URI) a real access token. */
export async function getToken(issuer: string, login: string, opts: GetTokenOptions = {}): Promise<string> {
  const known = started.get(issuer);
  const audience = opts.audience ?? known?.audience ?? process.env.DEV_IDP_AUDIENCE ?? DEV_IDP_DEFAULT_AUDIENCE;
  const clientId = opts.clientId ?? DEV_IDP_PUBLIC_CLIENT_ID;
  const redirectUri = opts.redirectUri ?? known?.redirectUris[0] ?? DEV_IDP_DEFAULT_REDIRECT_URIS[0];
  const clientSecret =
    opts.clientSecret ?? (clientId === DEV_IDP_CONFIDENTIAL_CLIENT_ID ? DEV_IDP_CONFIDENTIAL_CLIENT_SECRET : undefined);

  const key = JSON.stringify([issuer, login, audience, clientId, redirectUri]);
  const cached = tokenCache.get(key);
  if (cached) {
    try {
      const token = await cached;
      if (token.exp - Date.now() / 1000 > 60) return token.accessToken;
    } catch {
      // a failed attempt is not cached: retry below
    }
  }

  const pending = runFlow({ issuer, login, audience, clientId, redirectUri, clientSecret });
  tokenCache.set(key, pending);
  try {
    return (await pending).accessToken;
  } catch (err) {
    if (tokenCache.get(key) === pending) tokenCache.delete(key);
    throw err;
  }
}

interface FlowParams {
  issuer: string;
  login: string;
  audience: string;
  clientId: string;
  redirectUri: string;
  clientSecret: string | undefined;
}

interface Endpoints {
  authorization: string;
  token: string;
}

const discoveryCache = new Map<string, Promise<Endpoints>>();

function discover(issuer: string): Promise<Endpoints> {
  let pending = discoveryCache.get(issuer);
  if (!pending) {
    pending = (async () => {
      const res = await fetch(`${issuer}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`dev-idp discovery failed: HTTP ${res.status}`);
      const doc = asRecord(await res.json(), 'discovery document');
      return {
        authorization: asString(doc.authorization_endpoint, 'authorization_endpoint'),
        token: asString(doc.token_endpoint, 'token_endpoint'),
      };
    })();
    pending.catch(() => discoveryCache.delete(issuer));
    discoveryCache.set(issuer, pending);
  }
  return pending;
}

async function runFlow(p: FlowParams): Promise<CachedToken> {
  const endpoints = await discover(p.issuer);
  const resource = devIdpResourceFor(p.audience);
  const codeVerifier = randomBytes(32).toString('base64url');
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');

  const authUrl = new URL(endpoints.authorization);
  authUrl.search = new URLSearchParams({
    client_id: p.clientId,
    response_type: 'code',
    redirect_uri: p.redirectUri,
    scope: 'openid email profile',
    resource,
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  }).toString();

  const jar = new CookieJar(new URL(p.issuer).origin);
  let request: { url: URL; method: 'GET' | 'POST'; body?: URLSearchParams } = { url: authUrl, method: 'GET' };
  let loginPosted = false;
  let code: string | undefined;

  for (let step = 0; step < MAX_FLOW_STEPS && code === undefined; step += 1) {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = jar.header(request.url);
    if (cookie) headers.cookie = cookie;
    if (request.body) headers['content-type'] = 'application/x-www-form-urlencoded';

    const res = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.body?.toString(),
      redirect: 'manual',
    });
    jar.store(request.url, res.headers.getSetCookie());

    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw new Error(`dev-idp: HTTP ${res.status} without Location at ${request.url.href}`);
      const next = new URL(location, request.url);
      if (isRedirectUri(next, p.redirectUri)) {
        code = readCallback(next, state, p.issuer);
      } else {
        request = { url: next, method: 'GET' };
      }
      continue;
    }

    const text = await res.text();
    if (res.status === 200 && !loginPosted && /^\/interaction\/[^/]+$/.test(request.url.pathname)) {
      loginPosted = true;
      request = {
        url: new URL(`${request.url.pathname}/login`, request.url),
        method: 'POST',
        body: new URLSearchParams({ login: p.login }),
      };
      continue;
    }
    throw new Error(
      `dev-idp: unexpected HTTP ${res.status} at ${request.method} ${request.url.href} (login ${p.login}): ${htmlToText(text)}`,
    );
  }
  if (code === undefined) throw new Error(`dev-idp: no authorization code after ${MAX_FLOW_STEPS} steps`);

  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: p.redirectUri,
    code_verifier: codeVerifier,
    resource,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (p.clientSecret === undefined) {
    form.set('client_id', p.clientId);
  } else {
    const basic = `${encodeURIComponent(p.clientId)}:${encodeURIComponent(p.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  }
  const res = await fetch(endpoints.token, { method: 'POST', headers, body: form.toString() });
  const body = asRecord(await res.json(), 'token response');
  if (!res.ok) {
    throw new Error(
      `dev-idp token endpoint: HTTP ${res.status} ${String(body.error)}: ${String(body.error_description)}`,
    );
  }
  const accessToken = asString(body.access_token, 'access_token');
  const parts = accessToken.split('.');
  if (parts.length !== 3) throw new Error('dev-idp: the access token is not a JWS');
  const payload = asRecord(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')), 'access token payload');
  const exp = typeof payload.exp === 'number' ? payload.exp : Math.floor(Date.now() / 1000) + 300;
  return { accessToken, exp };
}

function isRedirectUri(url: URL, redirectUri: string): boolean {
  const expected = new URL(redirectUri);
  return url.origin === expected.origin && url.pathname === expected.pathname;
}

function readCallback(url: URL, state: string, issuer: string): string {
  const params = url.searchParams;
  const error = params.get('error');
  if (error) throw new Error(`dev-idp authorization error: ${error}: ${params.get('error_description') ?? ''}`);
  if (params.get('state') !== state) throw new Error('dev-idp: state mismatch in the authorization response');
  const iss = params.get('iss');
  if (iss !== null && iss !== issuer) throw new Error(`dev-idp: unexpected iss ${iss} in the authorization response`);
  const code = params.get('code');
  if (!code) throw new Error('dev-idp: no code in the authorization response');
  return code;
}

/** Minimal cookie jar for a single origin: honours Path, Max-Age and Expires. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string; expiresAt?: number }>();

  constructor(private readonly origin: string) {}

  store(url: URL, setCookies: string[]): void {
    if (url.origin !== this.origin) return;
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(url.pathname);
      let expiresAt: number | undefined;
      let maxAgeSeen = false;
      for (const attribute of attributes) {
        const aEq = attribute.indexOf('=');
        const aName = (aEq === -1 ? attribute : attribute.slice(0, aEq)).trim().toLowerCase();
        const aValue = aEq === -1 ? '' : attribute.slice(aEq + 1).trim();
        if (aName === 'path' && aValue.startsWith('/')) path = aValue;
        if (aName === 'max-age' && /^-?\d+$/.test(aValue)) {
          maxAgeSeen = true;
          expiresAt = Date.now() + Number(aValue) * 1000;
        }
        if (aName === 'expires' && !maxAgeSeen) {
          const t = Date.parse(aValue);
          if (!Number.isNaN(t)) expiresAt = t;
        }
      }
      const key = `${name}\u0000${path}`;
      if (expiresAt !== undefined && expiresAt <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path, expiresAt });
    }
  }

  header(url: URL): string {
    if (url.origin !== this.origin) return '';
    const now = Date.now();
    return [...this.cookies.values()]
      .filter((c) => (c.expiresAt === undefined || c.expiresAt > now) && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function defaultPath(pathname: string): string {
  const idx = pathname.lastIndexOf('/');
  return idx <= 0 ? '/' : pathname.slice(0, idx);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`dev-idp: ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`dev-idp: missing ${what}`);
  return value;
}

function htmlToText(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
}
