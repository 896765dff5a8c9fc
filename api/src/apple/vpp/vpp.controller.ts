import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { CurrentPrincipal } from '../../auth/public.decorator';
import { Principal } from '../../auth/principal';
import { ApiErrors } from '../../openapi/api-errors.decorator';
import { VppDto } from './vpp.responses';
import { VppService } from './vpp.service';

export class VppTokenDto {
  @ApiProperty({ type: 'string', description: 'The content token (.vpptoken file contents) ABM gives for a location' })
  @IsString()
  @MaxLength(10_000)
  sToken: string;
}

export class VppAssetMappingDto {
  @ApiProperty({ type: 'string', example: 'fr.gouv.tchap', description: 'The bundle identifier of the app' })
  @IsString()
  @MaxLength(255)
  @Matches(/^[A-Za-z0-9.-]+$/, { message: 'bundleId must be a bundle identifier such as fr.gouv.tchap' })
  bundleId: string;
}

@ApiTags('apple')
@ApiErrors('apple')
@ApiBearerAuth()
@Controller('ministries/:code/apple/vpp')
export class VppController {
  constructor(private readonly vpp: VppService) {}

  @Put('token')
  @ApiOperation({ summary: 'Import the ministry’s Apps and Books content token; its apps and licences are read' })
  @ApiOkResponse({ type: VppDto })
  token(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() body: VppTokenDto): Promise<VppDto> {
    return this.vpp.importToken(p, code, body.sToken);
  }

  @Get()
  @ApiOperation({ summary: 'Apps and Books: token expiry (warning 30 days ahead), apps and licence counts' })
  @ApiOkResponse({ type: VppDto })
  view(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<VppDto> {
    return this.vpp.view(p, code);
  }

  @Post('sync')
  @HttpCode(200)
  @ApiOperation({ summary: 'Read the apps and licence counts again (licences of devices that left are released)' })
  @ApiOkResponse({ type: VppDto })
  sync(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<VppDto> {
    return this.vpp.syncAssets(p, code);
  }

  @Put('assets/:adamId')
  @ApiOperation({ summary: 'Say which app (bundle identifier) an asset is, so that its installs are licensed' })
  @ApiOkResponse({ type: VppDto })
  map(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Param('adamId') adamId: string,
    @Body() body: VppAssetMappingDto,
  ): Promise<VppDto> {
    return this.vpp.mapAsset(p, code, adamId, body.bundleId);
  }
}
