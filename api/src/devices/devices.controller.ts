import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProperty, ApiQuery, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import type { Compliance } from './device.entity';
import { COMPLIANCE_VALUES, DeviceDto, DevicePageDto } from './devices.responses';
import { DevicesService } from './devices.service';

export class DeviceListQuery extends PageQuery {
  @IsOptional()
  @IsIn(COMPLIANCE_VALUES)
  compliance?: Compliance;
}

export class ReassignDeviceDto {
  @ApiProperty({ type: 'string', format: 'uuid', description: 'The agent who gets the device' })
  @IsUUID('all', { message: 'agentId must be the id of an agent' })
  agentId: string;
}

@ApiTags('devices')
@ApiBearerAuth()
@ApiErrors('device')
@Controller()
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get('me/devices')
  @ApiOkResponse({ type: [DeviceDto] })
  mine(@CurrentPrincipal() p: Principal): Promise<DeviceDto[]> {
    return this.devices.mine(p);
  }

  @Get('ministries/:code/devices')
  @ApiQuery({ name: 'compliance', required: false, enum: COMPLIANCE_VALUES, enumName: 'Compliance' })
  @ApiQuery({ name: 'limit', required: false, type: 'integer', description: '1 to 500 (default 100)' })
  @ApiQuery({ name: 'offset', required: false, type: 'integer' })
  @ApiOkResponse({ type: DevicePageDto })
  list(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Query() q: DeviceListQuery,
  ): Promise<DevicePageDto> {
    return this.devices.list(p, code, q);
  }

  @Post('devices/:id/reassign')
  @HttpCode(200)
  @ApiOkResponse({ type: DeviceDto })
  reassign(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: ReassignDeviceDto,
  ): Promise<DeviceDto> {
    return this.devices.reassign(p, id, body.agentId);
  }

  @Get('devices/:id')
  @ApiOkResponse({ type: DeviceDto })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<DeviceDto> {
    return this.devices.get(p, id);
  }
}
