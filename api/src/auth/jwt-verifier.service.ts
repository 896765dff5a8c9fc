import { Injectable, Logger } from '@nestjs/common';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify } from 'jose';
import { AuthError } from './auth.error';

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** The backend's own client, for the admin interface's login (code + PKCE). */
  clientId?: string;
  clientSecret?: string;
  /** Where the browser reaches this service (the login's redirect URI is built from it). */
  publicUrl?: string;
}
export const OIDC_SETTINGS = Symbol('OIDC_SETTINGS');

/** Identity claims the service reads from a verified token (ProConnect's names). */
export interface IdentityClaims extends JWTPayload {
  sub: string;
  email?: string;
  given_name?: string;
  usual_name?: string;
  siret?: string;
}

const ACCEPTED_ALGORITHMS = ['RS256', 'PS256', 'ES256'];

/** Verifies bearer JWTs against the issuer's published keys (discovered from its metadata). */
@Injectable()
export class JwtVerifierService {
  private readonly logger = new Logger('Auth');
  private keys?: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: OidcSettings) {}

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let jwksUri: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      jwksUri = ((await response.json()) as { jwks_uri: string }).jwks_uri;
    } catch (e) {
      this.logger.error(`OIDC discovery failed at ${url}: ${(e as Error).message}`);
      throw new AuthError(
        'issuer-unreachable',
        'unavailable',
        'The identity provider cannot be reached; try again in a moment.',
      );
    }
    this.keys = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 30_000, timeoutDuration: 5000 });
    return this.keys;
  }

  async verify(token: string): Promise<IdentityClaims> {
    const keys = await this.keySet();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: 30,
        requiredClaims: ['sub', 'exp'],
      });
      return payload as IdentityClaims;
    } catch (e) {
      throw AuthError.unauthenticated('invalid-token', `The access token was refused: ${this.explain(e)}.`);
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
