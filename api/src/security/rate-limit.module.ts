import {
  CallHandler,
  DynamicModule,
  ExecutionContext,
  Global,
  HttpException,
  Inject,
  Injectable,
  Module,
  NestInterceptor,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModule,
  type ThrottlerRequest,
  type ThrottlerModuleOptions,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { normalizeIp } from '@nestjs/throttler/dist/ip';
import type { AuthenticatedRequest } from '../auth/public.decorator';
import { DomainError, HTTP_STATUS_OF } from '../common/domain-error';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';
import { RATE_LIMIT_SETTINGS, RateLimitSettings } from './rate-limit-settings';
import { Precounted, PRECOUNTED, RateLimitStore } from './rate-limit-store';

/**
 * Not limited per client here:
 * - Apple MDM check-in and command channels: not per address (thousands of phones share one
 *   carrier NAT address) but per device identity, once its CMS signature (or the proxy's client
 *   certificate) proved who speaks: see MdmIdentityService and RateLimitSettings.perDevice.
 * - Google Pub/Sub pushes: Google delivers from many addresses, authenticated by its OIDC token, and
 *   paces itself (a 429 would only be a negative acknowledgement, redelivered later).
 * - /health and /metrics: probes and scrapers from a few addresses, cheap to answer.
 * Counted per link rather than per address: Apple enrollment profile downloads. A ministry enrolls
 * hundreds of iPhones from one office address in an afternoon; each link is a 192-bit secret, so
 * counting per link leaves nothing to gain from guessing and still stops one link being hammered.
 * A lookup that fails (unknown, expired, revoked or used-up link) counts against the address, and
 * an address over its budget gets no lookup at all: guessing links costs the guesser.
 */
const PER_LINK_ROUTES = new Set(['/apple/enroll/:token']);
const UNLIMITED_ROUTES = new Set(['/mdm/checkin', '/mdm/server', '/android/pubsub', '/health', '/metrics']);

/** The one throttler (its name prefixes every key). */
const THROTTLER = 'default';

class RateLimitedError extends DomainError {
  readonly domain = 'request';
}

function isSignedIn(request: AuthenticatedRequest): boolean {
  return request.principal !== undefined;
}

function routeOf(request: Request): string | undefined {
  return (request.route as { path?: string } | undefined)?.path;
}

/**
 * Runs after the AuthGuard (RateLimitModule is imported after AuthModule, and Nest runs global
 * guards in registration order), so a signed-in request is counted against the agent the token or
 * session was verified to belong to: people behind one ministry proxy do not share a budget, and a
 * forged or random token cannot buy a fresh one (it is refused before reaching this guard). Without
 * an identity (public routes) the client address is the key. Requests refused by authentication
 * are not counted here: like unknown URLs and static files, floods of them are the edge proxy's job;
 * this limit keeps one person's script from taking the service from everyone else.
 *
 * The counters live in PostgreSQL (RateLimitStore): every replica shares them, a restart keeps them.
 */
@Injectable()
class ClientThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly store: RateLimitStore,
    reflector: Reflector,
    @Inject(RATE_LIMIT_SETTINGS) private readonly settings: RateLimitSettings,
  ) {
    super(options, store, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const route = routeOf(context.switchToHttp().getRequest<Request>());
    return route !== undefined && UNLIMITED_ROUTES.has(route);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const route = routeOf(request);
    if (route !== undefined && PER_LINK_ROUTES.has(route) && !request.principal) {
      // Failed lookups count against the address (after the answer); an address out of budget is refused first.
      const key = `${THROTTLER}:ip:${normalizeIp(request.ip ?? '')}`;
      const windowMs = this.settings.windowSeconds * 1000;
      if ((await this.store.count(key, windowMs)) >= this.settings.perIp) {
        const counted = await this.store.hit(key, windowMs, this.settings.perIp);
        http.getResponse<Response>().setHeader('Retry-After', counted.retryAfterSeconds);
        await this.throwThrottlingException(context, {
          limit: this.settings.perIp,
          ttl: windowMs,
          key,
          tracker: key,
          totalHits: counted.hits,
          timeToExpire: counted.retryAfterSeconds,
          isBlocked: true,
          timeToBlockExpire: counted.retryAfterSeconds,
        });
      }
    }
    return super.canActivate(context);
  }

  /**
   * A request whose principal was looked up together with its count (PrincipalLookup) is not counted
   * again: the same outcome, headers and refusal as @nestjs/throttler gives for a count made here.
   */
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { req, res } = this.getRequestResponse(props.context);
    const pre = (req as { [PRECOUNTED]?: Precounted })[PRECOUNTED];
    if (!pre) return super.handleRequest(props);
    const tracker = await props.getTracker(req, props.context);
    const key = props.generateKey(props.context, tracker, props.throttler.name ?? THROTTLER);
    if (key !== pre.key || props.limit !== pre.limit || props.ttl !== pre.windowMs)
      throw new Error(`rate limit counted as ${pre.key} (${pre.limit}/${pre.windowMs} ms), throttled as ${key}`);
    const { hits, blocked, retryAfterSeconds } = pre.hit;
    if (blocked) {
      res.header('Retry-After', String(retryAfterSeconds));
      await this.throwThrottlingException(props.context, {
        limit: props.limit,
        ttl: props.ttl,
        key,
        tracker,
        totalHits: hits,
        timeToExpire: retryAfterSeconds,
        isBlocked: true,
        timeToBlockExpire: retryAfterSeconds,
      });
    }
    res.header(`${this.headerPrefix}-Limit`, String(props.limit));
    res.header(`${this.headerPrefix}-Remaining`, String(Math.max(0, props.limit - hits)));
    res.header(`${this.headerPrefix}-Reset`, String(retryAfterSeconds));
    return true;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as AuthenticatedRequest;
    if (req.principal) return `agent:${req.principal.agentId}`;
    const route = routeOf(req);
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

/** The HTTP status an error will be answered with (DomainErrorFilter's mapping). */
function statusOf(error: unknown): number {
  if (error instanceof DomainError) return HTTP_STATUS_OF[error.kind];
  if (error instanceof HttpException) return error.getStatus();
  return 500;
}

/**
 * A failed enrollment-link lookup (unknown, expired, revoked, used up: any 4xx but a 429) is counted
 * against the client address before the refusal is sent, so the next guess already meets it.
 */
@Injectable()
class FailedLookupInterceptor implements NestInterceptor {
  constructor(
    private readonly store: RateLimitStore,
    @Inject(RATE_LIMIT_SETTINGS) private readonly settings: RateLimitSettings,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const route = routeOf(request);
    if (route === undefined || !PER_LINK_ROUTES.has(route) || request.principal) return next.handle();
    return next.handle().pipe(
      catchError((error: unknown) => {
        const status = statusOf(error);
        if (status < 400 || status >= 500 || status === 429) return throwError(() => error);
        const key = `${THROTTLER}:ip:${normalizeIp(request.ip ?? '')}`;
        return from(this.store.hit(key, this.settings.windowSeconds * 1000, this.settings.perIp)).pipe(
          mergeMap(() => throwError(() => error)),
        );
      }),
    );
  }
}

/** The counters' store, shared by the throttler and by the device check-in limit (MdmIdentityService). */
@Module({ providers: [RateLimitStore], exports: [RateLimitStore] })
class RateLimitStoreModule {}

@Global()
@Module({})
export class RateLimitModule {
  static forRoot(settings: RateLimitSettings): DynamicModule {
    return {
      module: RateLimitModule,
      imports: [
        RateLimitStoreModule,
        ThrottlerModule.forRootAsync({
          imports: [RateLimitStoreModule],
          inject: [RateLimitStore],
          useFactory: (store: RateLimitStore) => ({
            storage: store,
            throttlers: [
              {
                name: THROTTLER,
                ttl: settings.windowSeconds * 1000,
                limit: (context: ExecutionContext) =>
                  isSignedIn(context.switchToHttp().getRequest<AuthenticatedRequest>())
                    ? settings.perUser
                    : settings.perIp,
                // 0: a sliding window without a penalty box; Retry-After says when the oldest counted request leaves it.
                blockDuration: 0,
              },
            ],
          }),
        }),
      ],
      providers: [
        { provide: RATE_LIMIT_SETTINGS, useValue: settings },
        { provide: APP_GUARD, useClass: ClientThrottlerGuard },
        { provide: APP_INTERCEPTOR, useClass: FailedLookupInterceptor },
      ],
      exports: [RATE_LIMIT_SETTINGS, RateLimitStoreModule],
    };
  }
}
