import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import type { Compliance } from './device.entity';
import { DevicesService } from './devices.service';

export class DeviceListQuery extends PageQuery {
  @IsOptional()
  @IsIn(['unknown', 'compliant', 'non-compliant'])
  compliance?: Compliance;
}

export class ReassignDeviceDto {
  @IsUUID('all', { message: 'agentId must be the id of an agent' })
  agentId: string;
}

@ApiTags('devices')
@ApiBearerAuth()
@Controller()
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get('me/devices')
  mine(@CurrentPrincipal() p: Principal) {
    return this.devices.mine(p);
  }

  @Get('ministries/:code/devices')
  list(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Query() q: DeviceListQuery) {
    return this.devices.list(p, code, q);
  }

  @Post('devices/:id/reassign')
  @HttpCode(200)
  reassign(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ReassignDeviceDto) {
    return this.devices.reassign(p, id, body.agentId);
  }

  @Get('devices/:id')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.devices.get(p, id);
  }
}
