import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PG_INT_MAX } from '../common/page.query';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import type { Compliance } from './device.entity';
import { DeviceLifecycleService } from './device-lifecycle.service';
import {
  COMPLIANCE_VALUES,
  DeviceCommandsDto,
  DeviceDto,
  DeviceLockedDto,
  DevicePageDto,
  DeviceRetiredDto,
} from './devices.responses';
import { DevicesService } from './devices.service';

/**
 * A page a person reads (the IT list shows 50): the other keyset lists stop at 100 or 200 too, and a
 * bigger page only makes each request slower — the next ones come through nextCursor.
 */
export const DEVICE_PAGE_MAX = 100;

/** Not PageQuery: its limit goes to 500, and class-validator would check both bounds, with two sentences. */
export class DeviceListQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number of phones per page' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(DEVICE_PAGE_MAX, {
    message: `limit must be at most ${DEVICE_PAGE_MAX} phones per page: follow nextCursor for the next ones`,
  })
  limit?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(PG_INT_MAX)
  offset?: number;

  @IsOptional()
  @IsIn(COMPLIANCE_VALUES)
  compliance?: Compliance;

  @IsOptional()
  @IsString()
  @MaxLength(100, { message: 'q must be at most 100 characters' })
  q?: string;

  /** Keyset paging: the `nextCursor` of the previous page; stable while phones enrol and leave. */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}

export class ReassignDeviceDto {
  @ApiProperty({ type: 'string', format: 'uuid', description: 'The agent who gets the device' })
  @IsUUID('all', { message: 'agentId must be the id of an agent' })
  agentId: string;
}

export class RetireDeviceDto {
  @ApiProperty({
    type: 'string',
    minLength: 3,
    maxLength: 200,
    description: 'Why (the agent left…): audited, and shown on a personal phone before its work profile is removed',
  })
  @IsString()
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(200, { message: 'reason must be at most 200 characters (the limit of the message shown on the phone)' })
  reason: string;
}

@ApiTags('devices')
@ApiBearerAuth()
@ApiErrors('device')
@Controller()
export class DevicesController {
  constructor(
    private readonly devices: DevicesService,
    private readonly lifecycle: DeviceLifecycleService,
  ) {}

  @Get('me/devices')
  @ApiOkResponse({ type: [DeviceDto] })
  mine(@CurrentPrincipal() p: Principal): Promise<DeviceDto[]> {
    return this.devices.mine(p);
  }

  @Get('ministries/:code/devices')
  @ApiQuery({ name: 'compliance', required: false, enum: COMPLIANCE_VALUES, enumName: 'Compliance' })
  @ApiQuery({
    name: 'q',
    required: false,
    type: 'string',
    description: 'Search (case-insensitive) in name, model, agent name or email, serial, UDID, Android name',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    type: 'integer',
    description: `1 to ${DEVICE_PAGE_MAX} (default 50)`,
  })
  @ApiQuery({ name: 'offset', required: false, type: 'integer', description: 'Not with cursor' })
  @ApiQuery({
    name: 'cursor',
    required: false,
    type: 'string',
    description: "The previous page's nextCursor: keyset paging on (display_name, id)",
  })
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

  @Post('devices/:id/retire')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Retire a phone (its agent leaves): a company phone is wiped, a personal one loses its work profile only; it leaves the fleet',
  })
  @ApiOkResponse({ type: DeviceRetiredDto })
  retire(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: RetireDeviceDto,
  ): Promise<DeviceRetiredDto> {
    return this.lifecycle.retire(p, id, body.reason);
  }

  @Post('devices/:id/lock')
  @HttpCode(200)
  @ApiOperation({ summary: 'Lock a lost phone’s screen now (Android LOCK command, Apple DeviceLock)' })
  @ApiOkResponse({ type: DeviceLockedDto })
  lock(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<DeviceLockedDto> {
    return this.lifecycle.lock(p, id);
  }

  @Get('devices/:id')
  @ApiOkResponse({ type: DeviceDto })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<DeviceDto> {
    return this.devices.get(p, id);
  }

  @Get('devices/:id/commands')
  @ApiOperation({ summary: 'A phone’s latest Apple commands (what it still has to do), and whether it is supervised' })
  @ApiOkResponse({ type: DeviceCommandsDto })
  commands(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<DeviceCommandsDto> {
    return this.devices.commands(p, id);
  }
}
