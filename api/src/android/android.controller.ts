import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, IsUUID, Max, Min } from 'class-validator';
import { AccessService } from '../auth/access.service';
import { CurrentPrincipal, Public } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { AndroidEnrollmentService } from './android-enrollment.service';
import type { PersonalUsage } from './android-enrollment.view';
import { AndroidEnterpriseService } from './android-enterprise.service';
import { AndroidReconcileService } from './android-reconcile.service';
import { AndroidReportsService, PubsubPush } from './android-reports.service';

export class BindEnterpriseDto {
  @IsString()
  enterpriseName: string;
}

export class StartSignupDto {
  @IsUrl({ require_tld: false, require_protocol: true })
  callbackUrl: string;
}

export class EnrollmentTokenDto {
  @IsOptional()
  @IsUUID('all')
  agentId?: string;

  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(129600, { message: 'durationMinutes must be at most 90 days' })
  durationMinutes: number = 60 * 24;

  @IsOptional()
  @IsIn(['allowed', 'disallowed', 'dedicated'])
  personalUsage?: PersonalUsage;

  @IsOptional()
  @IsBoolean()
  oneTimeOnly?: boolean;
}

@ApiTags('android')
@ApiBearerAuth()
@Controller()
export class AndroidController {
  constructor(
    private readonly enterprises: AndroidEnterpriseService,
    private readonly enrollment: AndroidEnrollmentService,
    private readonly reports: AndroidReportsService,
    private readonly reconciler: AndroidReconcileService,
    private readonly access: AccessService,
  ) {}

  @Get('ministries/:code/android/enterprise')
  enterprise(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    return this.enterprises.get(p, code);
  }

  @Put('ministries/:code/android/enterprise')
  @ApiOperation({ summary: 'Bind the ministry to an existing Android Enterprise (checked with Google)' })
  bind(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() body: BindEnterpriseDto) {
    return this.enterprises.bind(p, code, body.enterpriseName);
  }

  @Post('ministries/:code/android/signup')
  @ApiOperation({ summary: "Start Google's enterprise signup: returns the URL for the ministry's administrator" })
  signup(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() body: StartSignupDto) {
    return this.enterprises.startSignup(p, code, body.callbackUrl);
  }

  @Get('android/signup-callback')
  @ApiOperation({ summary: 'Where Google sends the administrator back: creates and binds the enterprise' })
  signupCallback(
    @CurrentPrincipal() p: Principal,
    @Query('ministry') ministry: string,
    @Query('enterpriseToken') enterpriseToken: string,
  ) {
    return this.enterprises.completeSignup(p, ministry ?? '', enterpriseToken ?? '');
  }

  @Post('ministries/:code/android/enrollment-tokens')
  @ApiOperation({ summary: 'An enrollment token (QR code content) for the ministry, optionally for one agent' })
  createToken(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() body: EnrollmentTokenDto) {
    return this.enrollment.create(p, code, {
      agentId: body.agentId,
      durationMinutes: body.durationMinutes,
      personalUsage: body.personalUsage ?? 'allowed',
      oneTimeOnly: body.oneTimeOnly ?? false,
    });
  }

  @Post('ministries/:code/android/reconcile')
  @HttpCode(200)
  @ApiOperation({ summary: "Compare Google's devices with ours now and repair drift" })
  reconcile(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    this.access.requireAccess(p, 'device.manage', code);
    return this.reconciler.reconcile(code);
  }

  @Post('android/pubsub')
  @Public()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Google Pub/Sub push endpoint (ENROLLMENT, STATUS_REPORT), authenticated by its OIDC token',
  })
  async pubsub(@Headers('authorization') authorization: string | undefined, @Body() body: PubsubPush): Promise<void> {
    await this.reports.verifyPush(authorization);
    await this.reports.handlePush(body);
  }
}
