import { Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { parse } from 'cookie';
import type { Request, Response } from 'express';
import { OidcLoginService, SESSION_COOKIE } from './oidc-login.service';
import { Public } from './public.decorator';

/** Browser sign-in for the admin interface: /auth/login → identity provider → /auth/callback → cookie. */
@ApiExcludeController()
@Controller('auth')
export class SessionController {
  constructor(private readonly login: OidcLoginService) {}

  @Get('login')
  @Public()
  async start(@Query('returnTo') returnTo: string | undefined, @Res() res: Response): Promise<void> {
    res.redirect(302, await this.login.start(returnTo));
  }

  @Get('callback')
  @Public()
  async callback(
    @Query('code') code: string | undefined,
    @Query('state') state: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const session = await this.login.finish(code, state);
    res.cookie(SESSION_COOKIE, session.sessionToken, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https',
      path: '/',
      maxAge: session.maxAgeSeconds * 1000,
    });
    res.redirect(302, session.returnTo);
  }

  @Post('logout')
  @Public()
  @HttpCode(204)
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.login.logout(parse(req.headers.cookie ?? '')[SESSION_COOKIE]);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  }
}
