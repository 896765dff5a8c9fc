import { Controller, Delete, Get, Param, Post, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AccessService } from '../auth/access.service';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { AppleError } from './apple.error';

export const APPLE_NOT_CONFIGURED_MESSAGE =
  'iPhones are not configured on this server: it is not an Apple MDM server. The operator must set APPLE_MDM=true (with PUBLIC_URL reachable by the phones) and restart it; the national administration then uploads the Apple push certificate.';

/**
 * Registered only when the Apple MDM server is off (AppleModule.forRoot(null)): the console's routes
 * answer "not configured, set these" rather than Express's bare 404 "Cannot POST …". Signed-in
 * routes (global guard) that check the caller's access first. Not in the OpenAPI document.
 */
@ApiExcludeController()
@Controller()
export class AppleOffController {
  constructor(private readonly access: AccessService) {}

  @Post('ministries/:code/apple/enrollment-links')
  link(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, 'device.manage', code);
  }

  @Get('ministries/:code/apple/enrollment-links')
  links(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, 'device.manage', code);
  }

  @Delete('ministries/:code/apple/enrollment-links/:id')
  revoke(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, 'device.manage', code);
  }

  @Get('apple/push-certificate')
  certificate(@CurrentPrincipal() p: Principal): never {
    return this.refuse(p, 'rollout.read', null);
  }

  @Put('apple/push-certificate')
  upload(@CurrentPrincipal() p: Principal): never {
    return this.refuse(p, 'platform.configure', null);
  }

  private refuse(
    p: Principal,
    permission: 'device.manage' | 'platform.configure' | 'rollout.read',
    ministry: string | null,
  ): never {
    this.access.requireAccess(p, permission, ministry);
    throw new AppleError('not-configured', 'conflict', APPLE_NOT_CONFIGURED_MESSAGE);
  }
}
