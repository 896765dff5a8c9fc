import { Body, Controller, Get, Header, HttpCode, Param, Post, Put, Req, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import type { Request, Response } from 'express';
import { CurrentPrincipal, Public } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { AppleEnrollmentLinkDto, PushCertificateDto } from './apple.responses';
import { AppleEnrollmentService } from './apple-enrollment.service';
import { MdmIdentityService } from './mdm-identity.service';
import { MdmProtocolService } from './mdm-protocol.service';
import { PushCertificateService } from './push-certificate.service';

export class EnrollmentLinkDto {
  @ApiPropertyOptional({ type: 'string', format: 'uuid', description: 'For one agent; omit for a ministry-wide link' })
  @IsOptional()
  @IsUUID('all')
  agentId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 24 * 30, default: 72 })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  expiresInHours: number = 72;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 1,
    description:
      'Phones the link may enroll (a link for one agent: 1); each download before a phone enrolled replaces the previous one',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  devices?: number;
}

export class PushCertificateUploadDto {
  @ApiProperty({ type: 'string', description: 'The certificate from Apple’s push certificates portal (PEM)' })
  @IsString()
  certificatePem: string;

  @ApiProperty({ type: 'string', description: 'Its private key (PEM)' })
  @IsString()
  privateKeyPem: string;
}

/** Content types of Apple's MDM messages (check-in and command channels). */
export const MDM_CONTENT_TYPES = [
  'application/x-apple-aspen-mdm-checkin',
  'application/x-apple-aspen-mdm',
  'application/x-plist',
  'application/xml',
  'text/xml',
];

/** A plist document, as Apple's MDM protocol exchanges them. */
const PLIST = { schema: { type: 'string', description: 'An XML property list' } };

function rawBody(request: Request): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

@ApiTags('apple')
@ApiErrors('apple')
@Controller()
export class AppleController {
  constructor(
    private readonly enrollment: AppleEnrollmentService,
    private readonly certificates: PushCertificateService,
    private readonly identity: MdmIdentityService,
    private readonly mdm: MdmProtocolService,
  ) {}

  @Put('apple/push-certificate')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Upload (or renew) the MDM push certificate; its topic is read from it' })
  @ApiOkResponse({ type: PushCertificateDto })
  upload(@CurrentPrincipal() p: Principal, @Body() body: PushCertificateUploadDto): Promise<PushCertificateDto> {
    return this.certificates.upload(p, body.certificatePem, body.privateKeyPem);
  }

  @Get('apple/push-certificate')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Topic and expiry of the MDM push certificate, with a warning 30 days ahead' })
  @ApiOkResponse({ type: PushCertificateDto, nullable: true, description: 'Empty when none was uploaded' })
  certificate(@CurrentPrincipal() p: Principal): Promise<PushCertificateDto | null> {
    return this.certificates.view(p);
  }

  @Post('ministries/:code/apple/enrollment-links')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'An enrollment link (the .mobileconfig URL) for the ministry, optionally for one agent' })
  @ApiCreatedResponse({ type: AppleEnrollmentLinkDto })
  link(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Body() body: EnrollmentLinkDto,
  ): Promise<AppleEnrollmentLinkDto> {
    return this.enrollment.createLink(p, code, {
      agentId: body.agentId,
      expiresInHours: body.expiresInHours,
      devices: body.devices,
    });
  }

  @Get('apple/enroll/:token')
  @Public()
  @Header('Content-Type', 'application/x-apple-aspen-config')
  @Header('Content-Disposition', 'attachment; filename="inscription.mobileconfig"')
  @ApiOperation({
    summary: 'The enrollment profile behind a link (signed): a device identity (or SCEP challenge) and the MDM payload',
  })
  @ApiOkResponse({
    description: 'The .mobileconfig (DER CMS SignedData of a property list), as an attachment',
    headers: {
      'Content-Disposition': {
        schema: { type: 'string' },
        description: 'attachment; filename="inscription.mobileconfig"',
      },
    },
    content: { 'application/x-apple-aspen-config': { schema: { type: 'string', format: 'binary' } } },
  })
  async profile(@Param('token') token: string): Promise<StreamableFile> {
    // The signed profile is DER (binary): sent as bytes, not as text.
    return new StreamableFile(await this.enrollment.profile(token));
  }

  @Put('mdm/checkin')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: "Apple MDM check-in (Authenticate, TokenUpdate, CheckOut…), signed by the device's identity",
  })
  @ApiConsumes(...MDM_CONTENT_TYPES)
  @ApiBody(PLIST)
  @ApiOkResponse({ description: 'A property list (empty for most messages)', content: { 'application/xml': PLIST } })
  async checkin(@Req() request: Request, @Res() response: Response): Promise<void> {
    const body = rawBody(request);
    const serial = await this.identity.serialOf(request, body);
    response.type('application/xml').send(await this.mdm.checkin(serial, body));
  }

  @Put('mdm/server')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: "Apple MDM command channel: the device's report in, its next command out" })
  @ApiConsumes(...MDM_CONTENT_TYPES)
  @ApiBody(PLIST)
  @ApiOkResponse({
    description: 'The next command, or an empty body when none is queued',
    content: { 'application/xml': PLIST },
  })
  async server(@Req() request: Request, @Res() response: Response): Promise<void> {
    const body = rawBody(request);
    const serial = await this.identity.serialOf(request, body);
    const next = await this.mdm.server(serial, body);
    response.type('application/xml').send(next);
  }
}
