import { Controller, Get, Param, Post, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AccessService } from '../auth/access.service';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { AndroidError } from './android.error';

export const ANDROID_NOT_CONFIGURED_MESSAGE =
  'Android is not configured on this server: it is linked to no Android Enterprise project. The operator must set GOOGLE_APPLICATION_CREDENTIALS (or AMAPI_ACCESS_TOKEN) and GOOGLE_CLOUD_PROJECT, with ANDROID_REPORTS and its Pub/Sub settings, then restart it.';

/**
 * Registered only when Android is off (AndroidModule.forRoot(null)): the routes a person calls from the
 * console answer "not configured, set these" rather than Express's bare 404 "Cannot POST …".
 * Still signed-in routes (global guard), and the caller's access to the ministry is checked first,
 * so a denial reads the same whether Android is on or off. Not in the OpenAPI document: the
 * document describes the service with its platforms on.
 */
@ApiExcludeController()
@Controller('ministries/:code/android')
export class AndroidOffController {
  constructor(private readonly access: AccessService) {}

  @Get('enterprise')
  enterprise(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.read');
  }

  @Put('enterprise')
  bind(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.manage');
  }

  @Get('health')
  health(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.read');
  }

  @Get('unknown-devices')
  unknownDevices(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.read');
  }

  @Post('signup')
  signup(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.manage');
  }

  @Post('enrollment-tokens')
  createToken(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.manage');
  }

  @Post('reconcile')
  reconcile(@CurrentPrincipal() p: Principal, @Param('code') code: string): never {
    return this.refuse(p, code, 'device.manage');
  }

  private refuse(p: Principal, code: string, permission: 'device.read' | 'device.manage'): never {
    this.access.requireAccess(p, permission, code);
    throw new AndroidError('not-configured', 'conflict', ANDROID_NOT_CONFIGURED_MESSAGE);
  }
}
