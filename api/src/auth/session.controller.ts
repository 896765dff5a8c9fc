import { Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiFoundResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiQuery,
  ApiSchema,
  ApiTags,
} from '@nestjs/swagger';
import { parse } from 'cookie';
import type { Request, Response } from 'express';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { LOGIN_COOKIE, LOGOUT_COOKIE, OidcLoginService, SESSION_COOKIE } from './oidc-login.service';
import { Public } from './public.decorator';

const LOCATION = { Location: { schema: { type: 'string' }, description: 'Where the browser goes next' } };

@ApiSchema({
  name: 'LogoutRedirect',
  description: 'Where the browser goes to end the identity provider’s session too.',
})
export class LogoutRedirectDto {
  @ApiProperty({ type: 'string', format: 'uri' })
  redirectTo: string;
}

/** Browser sign-in for the admin interface: /auth/login → identity provider → /auth/callback → cookie. */
@ApiTags('session')
@ApiErrors('auth')
@Controller('auth')
export class SessionController {
  constructor(private readonly login: OidcLoginService) {}

  @Get('login')
  @Public()
  @ApiOperation({ summary: 'Browser sign-in: redirects to the identity provider (OpenID Connect code flow)' })
  @ApiQuery({
    name: 'returnTo',
    type: 'string',
    required: false,
    description: 'Path of the interface to come back to (default /)',
  })
  @ApiFoundResponse({ description: 'To the identity provider’s authorization endpoint', headers: LOCATION })
  async start(
    @Query('returnTo') returnTo: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // A short-lived cookie binds the sign-in to this browser: a callback opened elsewhere is refused (login CSRF).
    const login = await this.login.start(returnTo, parse(req.headers.cookie ?? '')[LOGIN_COOKIE]);
    res.cookie(LOGIN_COOKIE, login.binding, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure(req),
      path: '/auth',
      maxAge: login.maxAgeSeconds * 1000,
    });
    res.redirect(302, login.url);
  }

  @Get('callback')
  @Public()
  @ApiOperation({ summary: 'Where the identity provider sends the browser back: sets the session cookie' })
  @ApiQuery({ name: 'code', type: 'string', required: false })
  @ApiQuery({ name: 'state', type: 'string', required: false })
  @ApiFoundResponse({
    description: 'Back to `returnTo`, with the session cookie (HttpOnly)',
    headers: { ...LOCATION, 'Set-Cookie': { schema: { type: 'string' }, description: 'The session cookie' } },
  })
  async callback(
    @Query('code') code: string | undefined,
    @Query('state') state: string | undefined,
    @Query('error') error: string | undefined,
    @Query('error_description') errorDescription: string | undefined,
    @Query('iss') iss: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const session = await this.login.finish(
      { code, state, error, errorDescription, iss },
      parse(req.headers.cookie ?? '')[LOGIN_COOKIE],
    );
    res.cookie(SESSION_COOKIE, session.sessionToken, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure(req),
      path: '/',
      maxAge: session.maxAgeSeconds * 1000,
    });
    res.redirect(302, session.returnTo);
  }

  @Post('logout')
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Ends the browser session and clears its cookie' })
  @ApiOkResponse({
    type: LogoutRedirectDto,
    description: 'Signed out here; the browser goes on to the provider’s logout',
  })
  @ApiNoContentResponse({ description: 'Signed out' })
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    const provider = await this.login.logout(parse(req.headers.cookie ?? '')[SESSION_COOKIE]);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    if (!provider) {
      res.status(204).end();
      return;
    }
    // The provider's session ends too: the browser goes there (ProConnect: id_token_hint, state, post_logout_redirect_uri).
    res.cookie(LOGOUT_COOKIE, provider.state, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure(req),
      path: '/auth/logout',
      maxAge: 10 * 60 * 1000,
    });
    res.status(200).json({ redirectTo: provider.redirectTo });
  }

  /** The provider's logout sends the browser back here: its state must be the one this browser left with. */
  @Get('logout/callback')
  @Public()
  @ApiOperation({ summary: 'Where the identity provider’s logout sends the browser back' })
  @ApiQuery({ name: 'state', type: 'string', required: false })
  @ApiFoundResponse({ description: 'To the interface', headers: LOCATION })
  logoutCallback(@Query('state') state: string | undefined, @Req() req: Request, @Res() res: Response): void {
    const expected = parse(req.headers.cookie ?? '')[LOGOUT_COOKIE];
    res.clearCookie(LOGOUT_COOKIE, { path: '/auth/logout' });
    this.login.checkLogoutReturn(state, expected);
    res.redirect(302, '/');
  }

  private secure(req: Request): boolean {
    return this.login.secureCookies || req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
  }
}
