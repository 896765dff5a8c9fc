import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DirectoryService } from '../directory/directory.service';
import { AuthError } from './auth.error';
import { authFailure } from './auth-failure';
import { identityFrom } from './identity';
import { IssuerMetadata, JwtVerifierService, OIDC_SETTINGS, OidcProfile, OidcSettings } from './jwt-verifier.service';
import { Principal } from './principal';
import { PrincipalLookup } from './principal-lookup';
import type { Precounted } from '../security/rate-limit-store';

export const SESSION_COOKIE = 'mdm_session';
/** Binds a sign-in to the browser that started it (login CSRF): the callback needs it. */
export const LOGIN_COOKIE = 'mdm_login';
/** The state of the provider's logout, checked when the browser comes back. */
export const LOGOUT_COOKIE = 'mdm_logout';
export const SESSION_HOURS = 8;
export const ATTEMPT_MINUTES = 10;

/** ProConnect's scopes (`doc_fs/donnees_fournies.md`); `profile` is not one of them. */
export const PROCONNECT_SCOPES = [
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
] as const;
/** What every service provider gets from ProConnect without a specific authorisation. */
const PROCONNECT_DEFAULT_SCOPES = ['openid', 'given_name', 'usual_name', 'email', 'uid', 'siret', 'idp_id'];
const STANDARD_DEFAULT_SCOPES = ['openid', 'email', 'profile'];
/** The only authorize parameters ProConnect accepts; any other is answered `Y000400 Bad Request`. */
export const PROCONNECT_AUTHORIZE_PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'claims',
  'state',
  'nonce',
  'prompt',
  'idp_hint',
] as const;

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
/** 32 random bytes: 43 characters, above ProConnect's minimum of 32 for state and nonce. */
const secret = () => randomBytes(32).toString('base64url');
const BINDING = /^[A-Za-z0-9_-]{43}$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a));
  const y = Buffer.from(sha256(b));
  return timingSafeEqual(x, y);
}

/**
 * Where to go once signed in: `returnTo` resolved against the public URL, kept only when it stays
 * on the same origin (`/\evil.example`, `//evil.example`, `https://evil.example` all become `/`).
 */
export function safeReturnTo(returnTo: string | undefined, publicUrl: string): string {
  // eslint-disable-next-line no-control-regex
  if (!returnTo || returnTo.length > 2000 || /[\u0000-\u001f\u007f\\]/.test(returnTo)) return '/';
  const base = new URL(publicUrl);
  let target: URL;
  try {
    target = new URL(returnTo, base);
  } catch {
    return '/';
  }
  if (target.origin !== base.origin || target.pathname.startsWith('//')) return '/';
  return `${target.pathname}${target.search}${target.hash}`;
}

interface TokenAnswer {
  access_token?: string;
  id_token?: string;
  token_type?: string;
  error?: string;
  error_description?: string;
}

export interface CallbackQuery {
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
  iss?: string;
}

/**
 * The admin interface's sign-in, run by the backend: the OpenID Connect authorization code flow
 * with the identity provider (ProConnect, or a standard provider), then an httpOnly, SameSite
 * session cookie. The access token only fetches the userinfo: the identity is read from the
 * verified id_token (nonce checked) and the userinfo answer (a signed JWT with ProConnect).
 */
@Injectable()
export class OidcLoginService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(OIDC_SETTINGS) private readonly settings: OidcSettings,
    private readonly verifier: JwtVerifierService,
    private readonly directory: DirectoryService,
    private readonly principals: PrincipalLookup,
  ) {}

  get profile(): OidcProfile {
    return this.settings.profile ?? 'proconnect';
  }

  private client(): { id: string; secret: string; publicUrl: string; redirectUri: string } {
    const { clientId, clientSecret, publicUrl } = this.settings;
    if (!clientId || !clientSecret || !publicUrl)
      throw new AuthError(
        'login-not-configured',
        'not-found',
        'Browser sign-in is not enabled on this server (it needs OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and PUBLIC_URL): use a bearer token.',
      );
    const base = publicUrl.replace(/\/$/, '');
    return { id: clientId, secret: clientSecret, publicUrl: base, redirectUri: `${base}/auth/callback` };
  }

  /** Whether the cookies of the sign-in must be Secure (the service is reached over HTTPS). */
  get secureCookies(): boolean {
    return (this.settings.publicUrl ?? '').startsWith('https:');
  }

  scopes(): string[] {
    const base = this.profile === 'proconnect' ? PROCONNECT_DEFAULT_SCOPES : STANDARD_DEFAULT_SCOPES;
    return [...new Set([...base, ...(this.settings.extraScopes ?? [])])];
  }

  /**
   * Where to send the browser to sign in, and the browser binding to set as a cookie (kept when the
   * browser already has one, so that two tabs signing in at once both succeed).
   */
  async start(
    returnTo: string | undefined,
    existingBinding: string | undefined,
  ): Promise<{ url: string; binding: string; maxAgeSeconds: number }> {
    const client = this.client();
    const metadata = await this.verifier.metadata();
    const binding = existingBinding && BINDING.test(existingBinding) ? existingBinding : secret();
    const state = secret();
    const nonce = secret();
    // PKCE where the provider offers it; ProConnect refuses its parameters.
    const pkce =
      this.profile === 'standard' && (metadata.code_challenge_methods_supported ?? []).includes('S256')
        ? secret()
        : null;
    await this.db.query(`DELETE FROM login_attempt WHERE created_at < now() - make_interval(mins => $1)`, [
      ATTEMPT_MINUTES,
    ]);
    await this.db.query(
      `INSERT INTO login_attempt (state, nonce, code_verifier, return_to, browser_hash) VALUES ($1, $2, $3, $4, $5)`,
      [state, nonce, pkce, safeReturnTo(returnTo, client.publicUrl), sha256(binding)],
    );
    const url = new URL(metadata.authorization_endpoint);
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: client.redirectUri,
      scope: this.scopes().join(' '),
      state,
      nonce,
    });
    if (pkce) {
      params.set('code_challenge', sha256(pkce));
      params.set('code_challenge_method', 'S256');
    }
    url.search = params.toString();
    return { url: url.toString(), binding, maxAgeSeconds: ATTEMPT_MINUTES * 60 };
  }

  /** The provider sent the browser back: check it is the browser that left, exchange the code, verify the identity, open a session. */
  async finish(
    query: CallbackQuery,
    binding: string | undefined,
  ): Promise<{ sessionToken: string; returnTo: string; maxAgeSeconds: number; principal: Principal }> {
    const client = this.client();
    if (query.error)
      throw new AuthError(
        'code-refused',
        'unauthenticated',
        `The identity provider did not sign you in: ${query.errorDescription ?? query.error}.`,
      );
    if (!query.code || !query.state)
      throw new AuthError('bad-callback', 'invalid', 'The sign-in came back without its code or state; start again.');
    const metadata = await this.verifier.metadata();
    // RFC 9207: when the provider names itself in the answer, it must be ours (mix-up attacks).
    if (query.iss !== undefined && query.iss !== metadata.issuer)
      throw new AuthError('bad-callback', 'invalid', 'The sign-in came back from another identity provider.');
    const attempt = await this.takeAttempt(query.state, binding);
    const tokens = await this.exchange(metadata, client, query.code, attempt.code_verifier);
    const idToken = await this.verifier.verifyForClient(tokens.id_token, 'id_token', client.id);
    if (typeof idToken.nonce !== 'string' || !sameSecret(idToken.nonce, attempt.nonce))
      throw authFailure(
        'id-token-refused',
        'The identity provider\'s ID token was refused: its "nonce" is not the one this sign-in sent (a replayed or injected answer). Sign in again.',
      );
    const claims = await this.userinfo(metadata, client.id, tokens.access_token);
    if (claims.sub !== idToken.sub)
      throw authFailure(
        'userinfo-refused',
        'The identity provider described another person than the one who signed in; sign in again.',
      );
    // ProConnect vouches for the professional email it sends; a standard provider must say so.
    const emailVerified = this.profile === 'proconnect' ? true : claims.email_verified === true;
    const principal = await this.directory.signIn(identityFrom(claims, emailVerified));
    const sessionToken = randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO session (token_hash, agent_id, expires_at, id_token) VALUES ($1, $2, now() + make_interval(hours => $3), $4)`,
      [sha256(sessionToken), principal.agentId, SESSION_HOURS, tokens.id_token],
    );
    return { sessionToken, returnTo: attempt.return_to, maxAgeSeconds: SESSION_HOURS * 3600, principal };
  }

  /** The attempt this state names, if this browser started it: used once. */
  private async takeAttempt(
    state: string,
    binding: string | undefined,
  ): Promise<{ nonce: string; code_verifier: string | null; return_to: string }> {
    const rows = (await this.db.query(
      `SELECT nonce, code_verifier, return_to, browser_hash FROM login_attempt
        WHERE state = $1 AND created_at > now() - make_interval(mins => $2)`,
      [state, ATTEMPT_MINUTES],
    )) as { nonce: string; code_verifier: string | null; return_to: string; browser_hash: string }[];
    const attempt = rows[0];
    if (!attempt)
      throw new AuthError('unknown-login', 'invalid', 'This sign-in was not started here or has expired; start again.');
    if (!binding || !BINDING.test(binding) || !sameSecret(sha256(binding), attempt.browser_hash))
      throw authFailure(
        'login-other-browser',
        'This sign-in was started in another browser (or its cookie has expired): start again from the sign-in page of this browser.',
      );
    const [, deleted] = (await this.db.query(`DELETE FROM login_attempt WHERE state = $1`, [state])) as [
      unknown[],
      number,
    ];
    if (deleted !== 1) throw new AuthError('unknown-login', 'invalid', 'This sign-in was already used; start again.');
    return attempt;
  }

  private async exchange(
    metadata: IssuerMetadata,
    client: { id: string; secret: string; redirectUri: string },
    code: string,
    codeVerifier: string | null,
  ): Promise<{ access_token: string; id_token: string }> {
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.profile === 'proconnect') {
      // client_secret_post: ProConnect reads the client's credentials from the form.
      form.set('client_id', client.id);
      form.set('client_secret', client.secret);
    } else {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
      if (codeVerifier) form.set('code_verifier', codeVerifier);
    }
    let response: Response;
    let answer: TokenAnswer;
    try {
      response = await fetch(metadata.token_endpoint, {
        method: 'POST',
        headers,
        body: form,
        signal: AbortSignal.timeout(10_000),
      });
      answer = (await response.json()) as TokenAnswer;
    } catch {
      throw new AuthError(
        'issuer-unreachable',
        'unavailable',
        'The identity provider cannot be reached; try again in a moment.',
      );
    }
    if (!response.ok || typeof answer.access_token !== 'string' || typeof answer.id_token !== 'string') {
      throw new AuthError(
        'code-refused',
        'unauthenticated',
        `The identity provider refused the sign-in: ${answer.error_description ?? answer.error ?? (response.ok ? 'no access token or ID token in its answer' : `HTTP ${response.status}`)}.`,
      );
    }
    return { access_token: answer.access_token, id_token: answer.id_token };
  }

  /** The userinfo answer: a JWT signed by the provider (ProConnect always; a standard provider may answer JSON). */
  private async userinfo(
    metadata: IssuerMetadata,
    clientId: string,
    accessToken: string,
  ): Promise<Record<string, unknown>> {
    if (!metadata.userinfo_endpoint)
      throw authFailure('userinfo-refused', 'The identity provider publishes no userinfo endpoint.');
    let response: Response;
    let body: string;
    try {
      response = await fetch(metadata.userinfo_endpoint, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/jwt, application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      body = await response.text();
    } catch {
      throw new AuthError(
        'issuer-unreachable',
        'unavailable',
        'The identity provider cannot be reached; try again in a moment.',
      );
    }
    if (!response.ok)
      throw authFailure('userinfo-refused', `The identity provider refused to describe you (HTTP ${response.status}).`);
    const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'application/jwt') return this.verifier.verifyForClient(body.trim(), 'userinfo', clientId);
    if (this.profile === 'proconnect' || type !== 'application/json')
      throw authFailure(
        'userinfo-refused',
        `The identity provider's userinfo answer is not a signed JWT (${type || 'no content type'}); it is refused.`,
      );
    try {
      const claims = JSON.parse(body) as unknown;
      if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('not an object');
      return claims as Record<string, unknown>;
    } catch {
      throw authFailure('userinfo-refused', "The identity provider's userinfo answer is not valid JSON.");
    }
  }

  async principalForSession(sessionToken: string, counted?: (pre: Precounted) => void): Promise<Principal | null> {
    return this.principals.forSession(sha256(sessionToken), counted);
  }

  /**
   * Ends the session here and says where the browser goes to end it at the provider too
   * (RP-initiated logout: `id_token_hint`, `state`, `post_logout_redirect_uri`); null when there is
   * no provider session to end.
   */
  async logout(sessionToken: string | undefined): Promise<{ redirectTo: string; state: string } | null> {
    if (!sessionToken) return null;
    const [rows] = (await this.db.query(`DELETE FROM session WHERE token_hash = $1 RETURNING id_token`, [
      sha256(sessionToken),
    ])) as [{ id_token: string | null }[], number];
    const idToken = rows[0]?.id_token;
    if (!idToken || !this.settings.clientId || !this.settings.publicUrl) return null;
    const { end_session_endpoint } = await this.verifier.metadata();
    if (!end_session_endpoint) return null;
    const state = secret();
    const url = new URL(end_session_endpoint);
    url.search = new URLSearchParams({
      id_token_hint: idToken,
      state,
      post_logout_redirect_uri: this.postLogoutRedirectUri(),
    }).toString();
    return { redirectTo: url.toString(), state };
  }

  postLogoutRedirectUri(): string {
    return `${(this.settings.publicUrl ?? '').replace(/\/$/, '')}/auth/logout/callback`;
  }

  /** The provider sent the browser back after its logout: the state must be the one this browser left with. */
  checkLogoutReturn(state: string | undefined, expected: string | undefined): void {
    if (!state || !expected || !sameSecret(state, expected))
      throw authFailure(
        'bad-logout',
        'This sign-out return was not started from this browser (its state does not match): you are signed out here anyway.',
      );
  }
}
