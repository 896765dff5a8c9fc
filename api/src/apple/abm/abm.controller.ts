import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { CurrentPrincipal } from '../../auth/public.decorator';
import { Principal } from '../../auth/principal';
import { ApiErrors } from '../../openapi/api-errors.decorator';
import { AbmDevicePageDto, AbmServerDto, AbmSyncResultDto } from './abm.responses';
import { AbmService } from './abm.service';

export class AbmTokenDto {
  @ApiProperty({
    type: 'string',
    description:
      'The server token file ABM gives (…_Token_….p7m), as text: an S/MIME message encrypted to the certificate',
  })
  @IsString()
  @MaxLength(100_000)
  token: string;
}

export class AbmDevicesQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset: number = 0;
}

@ApiTags('apple')
@ApiErrors('apple')
@ApiBearerAuth()
@Controller('ministries/:code/apple/abm')
export class AbmController {
  constructor(private readonly abm: AbmService) {}

  @Post('certificate')
  @ApiOperation({
    summary:
      "Create the ministry's key pair and certificate to upload in Apple Business Manager (replaces the previous)",
  })
  @ApiCreatedResponse({ type: AbmServerDto })
  certificate(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<AbmServerDto> {
    return this.abm.createCertificate(p, code);
  }

  @Get()
  @ApiOperation({
    summary: 'The ministry’s ABM connection: certificate, token expiry (warning 30 days ahead), devices',
  })
  @ApiOkResponse({ type: AbmServerDto })
  view(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<AbmServerDto> {
    return this.abm.view(p, code);
  }

  @Put('token')
  @ApiOperation({ summary: 'Import the server token ABM gave (decrypted with the ministry’s key, checked with ABM)' })
  @ApiOkResponse({ type: AbmServerDto })
  token(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Body() body: AbmTokenDto,
  ): Promise<AbmServerDto> {
    return this.abm.importToken(p, code, body.token);
  }

  @Post('sync')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sync the ministry’s devices from ABM, define the enrollment profile and assign it' })
  @ApiOkResponse({ type: AbmSyncResultDto })
  sync(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<AbmSyncResultDto> {
    return this.abm.sync(p, code);
  }

  @Get('devices')
  @ApiOperation({ summary: 'The ministry’s ABM devices (before their first boot too), with their profile status' })
  @ApiOkResponse({ type: AbmDevicePageDto })
  devices(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Query() query: AbmDevicesQuery,
  ): Promise<AbmDevicePageDto> {
    return this.abm.devices(p, code, { limit: query.limit, offset: query.offset });
  }
}
