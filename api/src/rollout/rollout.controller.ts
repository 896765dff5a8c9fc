import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { RolloutService } from './rollout.service';

export class RolloutActionDto {
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}

@ApiTags('rollouts')
@ApiBearerAuth()
@Controller()
export class RolloutController {
  constructor(private readonly rollouts: RolloutService) {}

  @Get('rollouts')
  list(@CurrentPrincipal() p: Principal, @Query('scope') scope?: string, @Query('active') active?: string) {
    return this.rollouts.list(p, { scope, active: active === 'true' });
  }

  @Get('rollouts/:id')
  @ApiOperation({ summary: 'A rollout with its progress per stage: converged, pending, failed, held, non-compliant' })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.rollouts.get(p, id);
  }

  @Post('rollouts/:id/pause')
  @HttpCode(200)
  pause(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: RolloutActionDto) {
    return this.rollouts.control(p, id, 'pause', body.reason);
  }

  @Post('rollouts/:id/resume')
  @HttpCode(200)
  resume(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.rollouts.control(p, id, 'resume');
  }

  @Post('rollouts/:id/advance')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release the next stage now, without waiting' })
  advance(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.rollouts.control(p, id, 'advance');
  }

  @Post('rollouts/:id/abort')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop: no further device receives this change (devices already released keep it)' })
  abort(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: RolloutActionDto) {
    return this.rollouts.control(p, id, 'abort', body.reason);
  }

  @Get('ministries/:code/rollout-status')
  @ApiOperation({ summary: 'Devices of a ministry: converged, pending, failed (with reasons), non-compliant' })
  status(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    return this.rollouts.ministryStatus(p, code);
  }
}
