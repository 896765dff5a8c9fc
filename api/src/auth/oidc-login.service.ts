import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DirectoryService } from '../directory/directory.service';
import { AuthError } from './auth.error';
import { JwtVerifierService, OIDC_SETTINGS, OidcSettings } from './jwt-verifier.service';
import { Principal } from './principal';

export const SESSION_COOKIE = 'mdm_session';
const SESSION_HOURS = 8;
const ATTEMPT_MINUTES = 10;

interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * The admin interface's login, run by the backend like La Suite numérique apps: authorization
 * code + PKCE with the identity provider (ProConnect), then an httpOnly, SameSite session cookie.
 * The API accepts that session or a bearer token.
 */
@Injectable()
export class OidcLoginService {
  private endpoints?: Endpoints;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(OIDC_SETTINGS) private readonly settings: OidcSettings,
    private readonly verifier: JwtVerifierService,
    private readonly directory: DirectoryService,
  ) {}

  private async discover(): Promise<Endpoints> {
    if (this.endpoints) return this.endpoints;
    try {
      const response = await fetch(`${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5000),
      });
      this.endpoints = (await response.json()) as Endpoints;
      return this.endpoints;
    } catch {
      throw new AuthError(
        'issuer-unreachable',
        'unavailable',
        'The identity provider cannot be reached; try again in a moment.',
      );
    }
  }

  private client(): { id: string; secret: string; redirectUri: string } {
    const { clientId, clientSecret, publicUrl } = this.settings;
    if (!clientId || !clientSecret || !publicUrl)
      throw new AuthError(
        'login-not-configured',
        'not-found',
        'Browser sign-in is not enabled on this server (it needs OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and PUBLIC_URL): use a bearer token.',
      );
    return { id: clientId, secret: clientSecret, redirectUri: `${publicUrl.replace(/\/$/, '')}/auth/callback` };
  }

  /** Where to send the browser to sign in. */
  async start(returnTo: string | undefined): Promise<string> {
    const client = this.client();
    const safeReturn = returnTo && /^\/(?!\/)[^\s]*$/.test(returnTo) ? returnTo : '/';
    const state = randomBytes(24).toString('base64url');
    const verifier = randomBytes(48).toString('base64url');
    await this.db.query(`DELETE FROM login_attempt WHERE created_at < now() - make_interval(mins => $1)`, [
      ATTEMPT_MINUTES,
    ]);
    await this.db.query(`INSERT INTO login_attempt (state, code_verifier, return_to) VALUES ($1, $2, $3)`, [
      state,
      verifier,
      safeReturn,
    ]);
    const { authorization_endpoint } = await this.discover();
    const url = new URL(authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: client.redirectUri,
      scope: 'openid email profile',
      state,
      code_challenge: sha256(verifier),
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  /** The provider sent the browser back: exchange the code, open a session. */
  async finish(
    code: string | undefined,
    state: string | undefined,
  ): Promise<{ sessionToken: string; returnTo: string; maxAgeSeconds: number }> {
    if (!code || !state)
      throw new AuthError('bad-callback', 'invalid', 'The sign-in came back without its code or state; start again.');
    const rows = (await this.db.query(
      `DELETE FROM login_attempt WHERE state = $1 AND created_at > now() - make_interval(mins => $2) RETURNING code_verifier, return_to`,
      [state, ATTEMPT_MINUTES],
    )) as [{ code_verifier: string; return_to: string }[], number];
    const attempt = rows[0][0];
    if (!attempt)
      throw new AuthError('unknown-login', 'invalid', 'This sign-in was not started here or has expired; start again.');
    const client = this.client();
    const { token_endpoint } = await this.discover();
    const response = await fetch(token_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: client.redirectUri,
        code_verifier: attempt.code_verifier,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const tokens = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!response.ok || !tokens.access_token) {
      throw new AuthError(
        'code-refused',
        'unauthenticated',
        `The identity provider refused the sign-in: ${tokens.error_description ?? tokens.error ?? response.status}.`,
      );
    }
    const principal = await this.directory.principalFor(await this.verifier.verify(tokens.access_token));
    const sessionToken = randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO session (token_hash, agent_id, expires_at) VALUES ($1, $2, now() + make_interval(hours => $3))`,
      [sha256(sessionToken), principal.agentId, SESSION_HOURS],
    );
    return { sessionToken, returnTo: attempt.return_to, maxAgeSeconds: SESSION_HOURS * 3600 };
  }

  async principalForSession(sessionToken: string): Promise<Principal | null> {
    const [row] = (await this.db.query(
      `SELECT a.sub FROM session s JOIN agent a ON a.id = s.agent_id WHERE s.token_hash = $1 AND s.expires_at > now()`,
      [sha256(sessionToken)],
    )) as { sub: string }[];
    return row ? this.directory.principalFor({ sub: row.sub }) : null;
  }

  async logout(sessionToken: string | undefined): Promise<void> {
    if (sessionToken) await this.db.query(`DELETE FROM session WHERE token_hash = $1`, [sha256(sessionToken)]);
  }
}
