import { Injectable, Logger } from '@nestjs/common';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify } from 'jose';
import { AuthError } from './auth.error';
import { authFailure } from './auth-failure';
import type { IdentityClaims } from './identity';

export type { IdentityClaims } from './identity';

export const OIDC_PROFILES = ['proconnect', 'standard'] as const;
/**
 * How the browser sign-in speaks to the identity provider. `proconnect`: only ProConnect's
 * authorize parameters (no PKCE), its scopes, `client_secret_post`, the identity from the signed
 * userinfo JWT. `standard`: any OpenID Connect provider (a ministry's Keycloak), PKCE when its
 * metadata offers S256, `client_secret_basic`, userinfo as JSON or JWT.
 */
export type OidcProfile = (typeof OIDC_PROFILES)[number];

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** The backend's own client, for the admin interface's login. */
  clientId?: string;
  clientSecret?: string;
  /** Where the browser reaches this service (the login's redirect URI is built from it). */
  publicUrl?: string;
  /** Default: OIDC_PROFILE from the environment (`proconnect`). */
  profile?: OidcProfile;
  /** Scopes asked for on top of the profile's own (ProConnect: `siren`, `organizational_unit`, …). */
  extraScopes?: string[];
  /** The algorithm the id_token (and userinfo JWT) is signed with, as registered with the provider (default RS256). */
  signingAlg?: string;
}
export const OIDC_SETTINGS = Symbol('OIDC_SETTINGS');

/** The provider's published metadata (`/.well-known/openid-configuration`): the fields this service uses. */
export interface IssuerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  jwks_uri: string;
  code_challenge_methods_supported?: string[];
}

/** Access tokens of standard providers (bearer JWTs for scripts). ProConnect's are opaque: never JWTs. */
const ACCEPTED_ALGORITHMS = ['RS256', 'PS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 30;
/** How long a verified bearer token is taken on trust (see JwtVerifierService.verify). */
const VERIFIED_TTL_MS = 5 * 60_000;
/** Verified tokens kept at most (≈ 1 kB each). */
const VERIFIED_MAX = 20_000;

/**
 * The identity provider's metadata and keys, and the JWT checks made against them: bearer access
 * tokens (issuer, audience, expiry, asymmetric algorithms) and the browser sign-in's id_token and
 * userinfo JWT (issuer, this service's client as audience, the registered algorithm).
 */
@Injectable()
export class JwtVerifierService {
  private readonly logger = new Logger('Auth');
  private discovered?: Promise<IssuerMetadata>;
  private keys?: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: OidcSettings) {}

  /** The issuer's metadata, fetched once (again after a failure). */
  metadata(): Promise<IssuerMetadata> {
    this.discovered ??= this.discover().catch((e: unknown) => {
      this.discovered = undefined;
      throw e;
    });
    return this.discovered;
  }

  private async discover(): Promise<IssuerMetadata> {
    const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let metadata: IssuerMetadata;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      metadata = (await response.json()) as IssuerMetadata;
      for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const)
        if (typeof metadata[field] !== 'string') throw new Error(`no ${field} in the metadata`);
    } catch (e) {
      this.logger.error(`OIDC discovery failed at ${url}: ${(e as Error).message}`);
      throw new AuthError(
        'issuer-unreachable',
        'unavailable',
        'The identity provider cannot be reached; try again in a moment.',
      );
    }
    // OpenID Connect Discovery §4.3: the metadata must be the configured issuer's own.
    if (metadata.issuer.replace(/\/$/, '') !== this.settings.issuer.replace(/\/$/, '')) {
      this.logger.error(`OIDC discovery at ${url} names another issuer: ${metadata.issuer}`);
      throw new AuthError(
        'issuer-unreachable',
        'unavailable',
        'The identity provider is misconfigured (its metadata names another issuer).',
      );
    }
    return metadata;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    const { jwks_uri } = await this.metadata();
    this.keys = createRemoteJWKSet(new URL(jwks_uri), { cooldownDuration: 30_000, timeoutDuration: 5000 });
    return this.keys;
  }

  /** A bearer access token (JWT) of the configured issuer, for this API's audience. */
  async verify(token: string): Promise<IdentityClaims> {
    const now = Date.now();
    const known = this.verified.get(token);
    if (known && known.until > now) return known.claims;
    const claims = await this.verifySignature(token);
    if (known) this.verified.delete(token);
    this.remember(token, claims, now);
    return claims;
  }

  /**
   * Scripts and the interface send the same token with every request until it expires: its RSA
   * check (6 % of the API's CPU under `npm run bench -- load`) is done once per VERIFIED_TTL_MS,
   * not per request. Only tokens that passed every check are kept, each until the earlier of its
   * expiry (with the same tolerance jwtVerify allows) and VERIFIED_TTL_MS: a key the provider
   * withdraws stops being accepted within that time, inside jose's own key-set cache (10 minutes,
   * during which it accepts the withdrawn key anyway).
   */
  private readonly verified = new Map<string, { claims: IdentityClaims; until: number }>();

  private remember(token: string, claims: IdentityClaims, now: number): void {
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 + CLOCK_TOLERANCE_SECONDS * 1000 : now;
    const until = Math.min(exp, now + VERIFIED_TTL_MS);
    if (until <= now) return;
    // Insertion order is age order: the oldest entry goes first when the cache is full.
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims, until });
  }

  private async verifySignature(token: string): Promise<IdentityClaims> {
    const keys = await this.keySet();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
      });
      return payload as IdentityClaims;
    } catch (e) {
      throw AuthError.unauthenticated('invalid-token', `The access token was refused: ${this.explain(e)}.`);
    }
  }

  /**
   * A JWT the provider issued to this service's client during the browser sign-in: the id_token or
   * the signed userinfo answer. Signed with exactly the registered algorithm, by the issuer's keys.
   */
  async verifyForClient(jwt: string, what: 'id_token' | 'userinfo', clientId: string): Promise<JWTPayload> {
    const keys = await this.keySet();
    try {
      const { payload } = await jwtVerify(jwt, keys, {
        issuer: this.settings.issuer,
        audience: clientId,
        algorithms: [this.settings.signingAlg ?? 'RS256'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: what === 'id_token' ? ['sub', 'exp', 'iat'] : ['sub'],
      });
      // OpenID Connect Core §3.1.3.7: several audiences need an authorized party, and it must be us.
      if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== clientId)
        throw new errors.JWTClaimValidationFailed('unexpected "azp" claim value', payload, 'azp', 'check_failed');
      return payload;
    } catch (e) {
      const name = what === 'id_token' ? 'ID token' : 'userinfo answer';
      throw authFailure(
        what === 'id_token' ? 'id-token-refused' : 'userinfo-refused',
        `The identity provider's ${name} was refused: ${this.explain(e)}. Sign in again.`,
      );
    }
  }

  private explain(e: unknown): string {
    if (e instanceof errors.JWTExpired) return 'it has expired';
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === 'iss') return 'it was issued by an identity provider this service does not trust';
      if (e.claim === 'aud') return 'it was issued for another audience';
      return `its "${e.claim}" claim is not acceptable (${e.reason})`;
    }
    if (e instanceof errors.JOSEAlgNotAllowed) return 'its signature algorithm is not accepted';
    if (e instanceof errors.JWSSignatureVerificationFailed) return 'its signature is invalid';
    if (e instanceof errors.JWKSNoMatchingKey) return 'it was signed with a key the identity provider does not publish';
    if (e instanceof errors.JOSEError) return 'it is not a well-formed signed JWT';
    return 'it could not be verified';
  }
}
