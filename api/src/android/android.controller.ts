import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, IsUUID, Max, Min } from 'class-validator';
import { AccessService } from '../auth/access.service';
import { CurrentPrincipal, Public } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { AndroidEnrollmentService } from './android-enrollment.service';
import { EnrollmentTokenView, PERSONAL_USAGES, type PersonalUsage } from './android-enrollment.view';
import { AndroidEnterpriseService } from './android-enterprise.service';
import { AndroidReconcileService } from './android-reconcile.service';
import { AndroidReportsService, PubsubPush } from './android-reports.service';
import {
  AndroidEnterpriseDto,
  AndroidHealthDto,
  AndroidSignupDto,
  PubsubPushDto,
  ReconcileSummaryDto,
  UnknownAndroidDeviceDto,
} from './android.responses';

export class BindEnterpriseDto {
  @ApiProperty({ type: 'string', pattern: '^enterprises/[A-Za-z0-9_-]+$', example: 'enterprises/LC0123abcd' })
  @IsString()
  enterpriseName: string;
}

export class StartSignupDto {
  @ApiProperty({
    type: 'string',
    format: 'uri',
    description: 'Where Google sends the administrator back (the ministry is added to it)',
  })
  @IsUrl({ require_tld: false, require_protocol: true })
  callbackUrl: string;
}

export class EnrollmentTokenDto {
  @ApiPropertyOptional({ type: 'string', format: 'uuid', description: 'For one agent; omit for a ministry-wide token' })
  @IsOptional()
  @IsUUID('all')
  agentId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 5, maximum: 129600, default: 1440 })
  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(129600, { message: 'durationMinutes must be at most 90 days' })
  durationMinutes: number = 60 * 24;

  @ApiPropertyOptional({
    enum: [...PERSONAL_USAGES],
    enumName: 'PersonalUsage',
    description: 'Default: allowed, or disallowed when the ministry’s policy disallows personal use (personalSide)',
  })
  @IsOptional()
  @IsIn(['allowed', 'disallowed', 'dedicated'])
  personalUsage?: PersonalUsage;

  @ApiPropertyOptional({ type: 'boolean', default: false })
  @IsOptional()
  @IsBoolean()
  oneTimeOnly?: boolean;
}

@ApiTags('android')
@ApiBearerAuth()
@ApiErrors('android')
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
  @ApiOkResponse({
    type: AndroidEnterpriseDto,
    nullable: true,
    description: 'Empty when the ministry is bound to none',
  })
  enterprise(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<AndroidEnterpriseDto | null> {
    return this.enterprises.get(p, code);
  }

  @Get('ministries/:code/android/health')
  @ApiOperation({
    summary:
      'What the ministry’s Android set-up lacks: enterprise, Pub/Sub topic and notification types (asked of Google), unpublished policies, last report, unknown phones',
  })
  @ApiOkResponse({ type: AndroidHealthDto })
  health(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<AndroidHealthDto> {
    return this.enterprises.health(p, code);
  }

  @Get('ministries/:code/android/unknown-devices')
  @ApiOperation({
    summary:
      'Phones Google lists in the ministry’s enterprise that no token of this service enrolled (found by reconciliation)',
  })
  @ApiOkResponse({ type: UnknownAndroidDeviceDto, isArray: true })
  unknownDevices(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<UnknownAndroidDeviceDto[]> {
    this.access.requireAccess(p, 'device.read', code);
    return this.reconciler.unknownDevices(code);
  }

  @Put('ministries/:code/android/enterprise')
  @ApiOperation({
    summary:
      'Bind the ministry to an existing Android Enterprise (checked with Google); sets its Pub/Sub topic and the ENROLLMENT and STATUS_REPORT notifications',
  })
  @ApiOkResponse({ type: AndroidEnterpriseDto })
  bind(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Body() body: BindEnterpriseDto,
  ): Promise<AndroidEnterpriseDto> {
    return this.enterprises.bind(p, code, body.enterpriseName);
  }

  @Post('ministries/:code/android/signup')
  @ApiOperation({ summary: "Start Google's enterprise signup: returns the URL for the ministry's administrator" })
  @ApiCreatedResponse({ type: AndroidSignupDto })
  signup(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Body() body: StartSignupDto,
  ): Promise<AndroidSignupDto> {
    return this.enterprises.startSignup(p, code, body.callbackUrl);
  }

  @Get('android/signup-callback')
  @ApiOperation({ summary: 'Where Google sends the administrator back: creates and binds the enterprise' })
  @ApiQuery({ name: 'ministry', type: 'string', description: 'Added to the callback URL at signup' })
  @ApiQuery({ name: 'enterpriseToken', type: 'string', description: 'Added by Google' })
  @ApiOkResponse({ type: AndroidEnterpriseDto })
  signupCallback(
    @CurrentPrincipal() p: Principal,
    @Query('ministry') ministry: string,
    @Query('enterpriseToken') enterpriseToken: string,
  ): Promise<AndroidEnterpriseDto> {
    return this.enterprises.completeSignup(p, ministry ?? '', enterpriseToken ?? '');
  }

  @Post('ministries/:code/android/enrollment-tokens')
  @ApiOperation({ summary: 'An enrollment token (QR code content) for the ministry, optionally for one agent' })
  @ApiCreatedResponse({ type: EnrollmentTokenView })
  createToken(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Body() body: EnrollmentTokenDto,
  ): Promise<EnrollmentTokenView> {
    return this.enrollment.create(p, code, {
      agentId: body.agentId,
      durationMinutes: body.durationMinutes,
      // Unset: allowed, unless the ministry's policy disallows personal use.
      personalUsage: body.personalUsage,
      oneTimeOnly: body.oneTimeOnly ?? false,
    });
  }

  @Post('ministries/:code/android/reconcile')
  @HttpCode(200)
  @ApiOperation({ summary: "Compare Google's devices with ours now and repair drift" })
  @ApiOkResponse({ type: ReconcileSummaryDto })
  reconcile(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<ReconcileSummaryDto> {
    this.access.requireAccess(p, 'device.manage', code);
    return this.reconciler.reconcile(code);
  }

  @Post('android/pubsub')
  @Public()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Google Pub/Sub push endpoint (ENROLLMENT, STATUS_REPORT), authenticated by its OIDC token',
  })
  @ApiBody({ type: PubsubPushDto })
  @ApiNoContentResponse({ description: 'Handled' })
  async pubsub(@Headers('authorization') authorization: string | undefined, @Body() body: PubsubPush): Promise<void> {
    await this.reports.verifyPush(authorization);
    await this.reports.handlePush(body);
  }
}
