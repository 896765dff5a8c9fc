import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { RolloutService } from './rollout.service';
import { MinistryRolloutStatus, RolloutView } from './rollout.view';

export class RolloutActionDto {
  @ApiPropertyOptional({ type: 'string', maxLength: 1000, description: 'Why (recorded in the audit log)' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}

@ApiTags('rollouts')
@ApiBearerAuth()
@ApiErrors('rollout')
@Controller()
export class RolloutController {
  constructor(private readonly rollouts: RolloutService) {}

  @Get('rollouts')
  @ApiQuery({ name: 'scope', type: 'string', required: false, description: '"national" or a ministry code' })
  @ApiQuery({
    name: 'active',
    required: false,
    enum: ['true', 'false'],
    description: '"true": preparing, running or paused only',
  })
  @ApiOkResponse({ type: [RolloutView], description: 'The latest 100, newest first' })
  list(
    @CurrentPrincipal() p: Principal,
    @Query('scope') scope?: string,
    @Query('active') active?: string,
  ): Promise<RolloutView[]> {
    return this.rollouts.list(p, { scope, active: active === 'true' });
  }

  @Get('rollouts/:id')
  @ApiOperation({ summary: 'A rollout with its progress per stage: converged, pending, failed, held, non-compliant' })
  @ApiOkResponse({ type: RolloutView })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<RolloutView> {
    return this.rollouts.get(p, id);
  }

  @Post('rollouts/:id/pause')
  @HttpCode(200)
  @ApiOkResponse({ type: RolloutView })
  pause(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: RolloutActionDto,
  ): Promise<RolloutView> {
    return this.rollouts.control(p, id, 'pause', body.reason);
  }

  @Post('rollouts/:id/resume')
  @HttpCode(200)
  @ApiOkResponse({ type: RolloutView })
  resume(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<RolloutView> {
    return this.rollouts.control(p, id, 'resume');
  }

  @Post('rollouts/:id/advance')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release the next stage now, without waiting' })
  @ApiOkResponse({ type: RolloutView })
  advance(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<RolloutView> {
    return this.rollouts.control(p, id, 'advance');
  }

  @Post('rollouts/:id/abort')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop: no further device receives this change (devices already released keep it)' })
  @ApiOkResponse({ type: RolloutView })
  abort(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: RolloutActionDto,
  ): Promise<RolloutView> {
    return this.rollouts.control(p, id, 'abort', body.reason);
  }

  @Get('ministries/:code/rollout-status')
  @ApiOperation({ summary: 'Devices of a ministry: converged, pending, failed (with reasons), non-compliant' })
  @ApiOkResponse({ type: MinistryRolloutStatus })
  status(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<MinistryRolloutStatus> {
    return this.rollouts.ministryStatus(p, code);
  }
}
