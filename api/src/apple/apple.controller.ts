import { Body, Controller, Get, Header, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import type { Request, Response } from 'express';
import { CurrentPrincipal, Public } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { AppleEnrollmentService } from './apple-enrollment.service';
import { MdmIdentityService } from './mdm-identity.service';
import { MdmProtocolService } from './mdm-protocol.service';
import { PushCertificateService } from './push-certificate.service';

export class EnrollmentLinkDto {
  @IsOptional()
  @IsUUID('all')
  agentId?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  expiresInHours: number = 72;

  /** Phones the link may enroll (a link for one agent: 1). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  devices?: number;
}

export class PushCertificateDto {
  @IsString()
  certificatePem: string;

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

function rawBody(request: Request): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

@ApiTags('apple')
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
  upload(@CurrentPrincipal() p: Principal, @Body() body: PushCertificateDto) {
    return this.certificates.upload(p, body.certificatePem, body.privateKeyPem);
  }

  @Get('apple/push-certificate')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Topic and expiry of the MDM push certificate, with a warning 30 days ahead' })
  certificate(@CurrentPrincipal() p: Principal) {
    return this.certificates.view(p);
  }

  @Post('ministries/:code/apple/enrollment-links')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'An enrollment link (the .mobileconfig URL) for the ministry, optionally for one agent' })
  link(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() body: EnrollmentLinkDto) {
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
  profile(@Param('token') token: string) {
    return this.enrollment.profile(token);
  }

  @Put('mdm/checkin')
  @Public()
  @HttpCode(200)
  async checkin(@Req() request: Request, @Res() response: Response): Promise<void> {
    const body = rawBody(request);
    const serial = await this.identity.serialOf(request, body);
    response.type('application/xml').send(await this.mdm.checkin(serial, body));
  }

  @Put('mdm/server')
  @Public()
  @HttpCode(200)
  async server(@Req() request: Request, @Res() response: Response): Promise<void> {
    const body = rawBody(request);
    const serial = await this.identity.serialOf(request, body);
    const next = await this.mdm.server(serial, body);
    response.type('application/xml').send(next);
  }
}
