import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { EffectivePolicyService } from './effective-policy.service';
import { PoliciesService } from './policies.service';
import { ApplyPlanDto, DiffQuery, PlanBodyDoc, RollbackDto } from './policies.dto';
import { rolloutRequest } from './rollout-request';
import { PolicyPlanService } from './policy-plan.service';

@ApiTags('policies')
@ApiBearerAuth()
@Controller()
export class PoliciesController {
  constructor(
    private readonly policies: PoliciesService,
    private readonly plans: PolicyPlanService,
    private readonly effective: EffectivePolicyService,
  ) {}

  @Get('policies')
  @ApiOperation({ summary: 'Current version of every policy the caller may read' })
  list(@CurrentPrincipal() p: Principal) {
    return this.policies.list(p);
  }

  @Get('policies/:scope')
  current(@CurrentPrincipal() p: Principal, @Param('scope') scope: string) {
    return this.policies.current(p, scope);
  }

  @Get('policies/:scope/versions')
  versions(@CurrentPrincipal() p: Principal, @Param('scope') scope: string) {
    return this.policies.versions(p, scope);
  }

  @Get('policies/:scope/versions/:version')
  version(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Param('version', ParseIntPipe) version: number) {
    return this.policies.version(p, scope, version);
  }

  @Get('policies/:scope/diff')
  diff(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Query() q: DiffQuery) {
    return this.policies.diff(p, scope, q.from, q.to);
  }

  @Post('policies/:scope/rollback')
  @ApiOperation({ summary: 'Make an old version current again, as a new version' })
  rollback(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Body() body: RollbackDto) {
    return this.policies.rollback(p, scope, body.version, body.comment);
  }

  @Post('policies/:scope/plan')
  @ApiOperation({ summary: 'Propose new content for a scope: returns the plan (what changes on which platform, devices affected) to review before apply' })
  @ApiBody({ type: PlanBodyDoc })
  plan(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Body() body: unknown) {
    return this.plans.planScope(p, scope, body);
  }

  @Get('policy-plans/:id')
  getPlan(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.plans.getSaved(p, id);
  }

  @Post('policy-plans/:id/apply')
  @HttpCode(200)
  @ApiOperation({ summary: 'Apply exactly a reviewed plan; 409 if the policy changed since it was made' })
  apply(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ApplyPlanDto) {
    return this.plans.applySaved(p, id, rolloutRequest(body.stages, body.stageWaitMinutes));
  }

  @Get('ministries/:code/effective-policy')
  ministryEffective(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    return this.effective.forMinistry(p, code);
  }

  @Get('agents/:id/effective-policy')
  @ApiOperation({ summary: 'Effective policy of an agent (use "me" for yourself)' })
  agentEffective(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.effective.forAgent(p, id === 'me' ? p.agentId : id);
  }

  @Get('devices/:id/effective-policy')
  deviceEffective(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.effective.forDevice(p, id);
  }
}
