import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthError } from './auth.error';
import { parse } from 'cookie';
import { ApiTokenService, isApiToken } from './api-token.service';
import { JwtVerifierService } from './jwt-verifier.service';
import { OidcLoginService, SESSION_COOKIE } from './oidc-login.service';
import { PrincipalLookup } from './principal-lookup';
import { Precounted, PRECOUNTED } from '../security/rate-limit-store';
import { AuthenticatedRequest, IS_PUBLIC } from './public.decorator';

/**
 * Global: every route requires a session cookie, a verified bearer JWT of the identity provider, or
 * one of the service's own API tokens (`mdm_…`), unless marked @Public(). The account is checked on
 * every request: a deactivated one is refused at once.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifierService,
    private readonly principals: PrincipalLookup,
    private readonly login: OidcLoginService,
    private readonly apiTokens: ApiTokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const session = parse(request.headers.cookie ?? '')[SESSION_COOKIE];
    // The rate limit is counted by the statement that reads the principal; the throttler, next, uses that count.
    const counted = (pre: Precounted) => {
      (request as AuthenticatedRequest & { [PRECOUNTED]?: Precounted })[PRECOUNTED] = pre;
    };
    if (!header && session) {
      // A cookie travels with cross-site requests: writes must also carry a header a form cannot set.
      const crossSiteSafe =
        ['GET', 'HEAD', 'OPTIONS'].includes(request.method) || !!request.headers['x-requested-with'];
      // A write refused below never reaches the throttler: it is not counted either.
      const principal = await this.login.principalForSession(session, crossSiteSafe ? counted : undefined);
      if (!principal) throw AuthError.unauthenticated('session-expired', 'Your session has expired: sign in again.');
      if (!crossSiteSafe) {
        throw AuthError.forbidden(
          'A write with a session cookie must carry the X-Requested-With header (protection against cross-site requests).',
          'csrf',
        );
      }
      request.principal = principal;
      return true;
    }
    if (!header)
      throw AuthError.unauthenticated(
        'missing-token',
        'Sign in first: this request carries no "Authorization: Bearer <token>" header.',
      );
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw AuthError.unauthenticated('malformed-header', 'The Authorization header must be "Bearer <token>".');
    if (isApiToken(match[1])) {
      request.principal = await this.apiTokens.principalFor(match[1]);
      return true;
    }
    const claims = await this.verifier.verify(match[1]);
    request.principal = await this.principals.forClaims(claims, counted);
    return true;
  }
}
