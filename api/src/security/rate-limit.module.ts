import { DynamicModule, ExecutionContext, Injectable, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModule } from '@nestjs/throttler';
import type { Request } from 'express';
import type { AuthenticatedRequest } from '../auth/public.decorator';
import { DomainError } from '../common/domain-error';
import { RateLimitSettings } from './rate-limit-settings';

/**
 * Not limited per client here:
 * - Apple MDM check-in and command channels: every phone answers our own APNs pushes, so their rate
 *   is set by the rollout's pacing, not by the phone; thousands of phones share one carrier NAT
 *   address, and a phone that gets errors back only retries at the next push, delaying convergence.
 *   Each message is authenticated by its CMS signature (or the proxy's client certificate); floods
 *   are for the TLS-terminating proxy in front of /mdm, which production needs anyway.
 * - Google Pub/Sub pushes: Google delivers from many addresses, authenticated by its OIDC token, and
 *   paces itself (a 429 would only be a negative acknowledgement, redelivered later).
 * - /health and /metrics: probes and scrapers from a few addresses, cheap to answer.
 * Counted per link rather than per address: Apple enrollment profile downloads. A ministry enrolls
 * hundreds of iPhones from one office address in an afternoon; each link is a 192-bit secret, so
 * counting per link leaves nothing to gain from guessing and still stops one link being hammered.
 */
const PER_LINK_ROUTES = new Set(['/apple/enroll/:token']);
const UNLIMITED_ROUTES = new Set(['/mdm/checkin', '/mdm/server', '/android/pubsub', '/health', '/metrics']);

class RateLimitedError extends DomainError {
  readonly domain = 'request';
}

function isSignedIn(request: AuthenticatedRequest): boolean {
  return request.principal !== undefined;
}

/**
 * Runs after the AuthGuard (RateLimitModule is imported after AuthModule, and Nest runs global
 * guards in registration order), so a signed-in request is counted against the agent the token or
 * session was verified to belong to: people behind one ministry proxy do not share a budget, and a
 * forged or random token cannot buy a fresh one (it is refused before reaching this guard). Without
 * an identity (public routes) the client address is the key. Requests refused by authentication
 * are not counted here: like unknown URLs and static files, floods of them are the edge proxy's job;
 * this limit keeps one person's script from taking the service from everyone else.
 */
@Injectable()
class ClientThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const route = (context.switchToHttp().getRequest<Request>().route as { path?: string } | undefined)?.path;
    return route !== undefined && UNLIMITED_ROUTES.has(route);
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as AuthenticatedRequest;
    if (req.principal) return `agent:${req.principal.agentId}`;
    const route = (req.route as { path?: string } | undefined)?.path;
    if (route !== undefined && PER_LINK_ROUTES.has(route)) return `link:${String(req.params.token)}`;
    return `ip:${await super.getTracker(request)}`;
  }

  /** One budget per client across all routes, not one per route. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const who = isSignedIn(context.switchToHttp().getRequest<AuthenticatedRequest>()) ? 'your account' : 'your address';
    const windowSeconds = Math.round(detail.ttl / 1000);
    throw new RateLimitedError(
      'rate-limited',
      'too-many-requests',
      `Too many requests from ${who}: at most ${detail.limit} every ${windowSeconds} s. Try again in ${detail.timeToBlockExpire} s.`,
      { limit: detail.limit, windowSeconds, retryAfterSeconds: detail.timeToBlockExpire },
    );
  }
}

@Module({})
export class RateLimitModule {
  static forRoot(settings: RateLimitSettings): DynamicModule {
    return {
      module: RateLimitModule,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [
            {
              ttl: settings.windowSeconds * 1000,
              limit: (context) =>
                isSignedIn(context.switchToHttp().getRequest<AuthenticatedRequest>())
                  ? settings.perUser
                  : settings.perIp,
              // 0: a sliding window without a penalty box; Retry-After says when the oldest counted request leaves it.
              blockDuration: 0,
            },
          ],
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: ClientThrottlerGuard }],
    };
  }
}
