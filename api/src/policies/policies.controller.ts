import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { EffectivePolicyService } from './effective-policy.service';
import { PoliciesService } from './policies.service';
import { ApplyPlanDto, DiffQuery, RollbackDto } from './policies.dto';
import {
  ApplyRequestDto,
  ApplyResultDto,
  DeviceEffectivePolicyDto,
  EffectivePolicyDto,
  PlanRequestDto,
  PolicyDiffDto,
  PolicyVersionDto,
  SavedPlanDto,
} from './policies.responses';
import { rolloutRequest } from './rollout-request';
import { PolicyPlanService } from './policy-plan.service';

@ApiTags('policies')
@ApiBearerAuth()
@ApiErrors('policy')
@Controller()
export class PoliciesController {
  constructor(
    private readonly policies: PoliciesService,
    private readonly plans: PolicyPlanService,
    private readonly effective: EffectivePolicyService,
  ) {}

  @Get('policies')
  @ApiOperation({ summary: 'Current version of every policy the caller may read' })
  @ApiOkResponse({ type: [PolicyVersionDto], description: 'Without their content' })
  list(@CurrentPrincipal() p: Principal): Promise<PolicyVersionDto[]> {
    return this.policies.list(p);
  }

  @Get('policies/:scope')
  @ApiParam({ name: 'scope', description: '"national" or a ministry code' })
  @ApiOkResponse({ type: PolicyVersionDto, description: 'The current version, with its content' })
  current(@CurrentPrincipal() p: Principal, @Param('scope') scope: string): Promise<PolicyVersionDto> {
    return this.policies.current(p, scope);
  }

  @Get('policies/:scope/versions')
  @ApiOkResponse({ type: [PolicyVersionDto], description: 'Newest first, without their content' })
  versions(@CurrentPrincipal() p: Principal, @Param('scope') scope: string): Promise<PolicyVersionDto[]> {
    return this.policies.versions(p, scope);
  }

  @Get('policies/:scope/versions/:version')
  @ApiOkResponse({ type: PolicyVersionDto, description: 'With its content' })
  version(
    @CurrentPrincipal() p: Principal,
    @Param('scope') scope: string,
    @Param('version', ParseIntPipe) version: number,
  ): Promise<PolicyVersionDto> {
    return this.policies.version(p, scope, version);
  }

  @Get('policies/:scope/diff')
  @ApiOkResponse({ type: PolicyDiffDto })
  diff(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Query() q: DiffQuery): Promise<PolicyDiffDto> {
    return this.policies.diff(p, scope, q.from, q.to);
  }

  @Post('policies/:scope/rollback')
  @ApiOperation({
    summary:
      'Plan a return to an old version: returns the plan (changes, devices affected) to review, then apply with POST /policy-plans/{id}/apply (stages allowed), which writes the old content as a new version',
  })
  @ApiCreatedResponse({ type: SavedPlanDto, description: 'The rollback plan, not applied yet' })
  rollback(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Body() body: RollbackDto): Promise<SavedPlanDto> {
    return this.plans.planRollback(p, scope, body.version, body.comment);
  }

  @Post('policies/:scope/plan')
  @ApiOperation({
    summary:
      'Propose new content for a scope: returns the plan (what changes on which platform, devices affected) to review before apply',
  })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody({ type: PlanRequestDto, description: 'Validated against the policy-as-code schemas' })
  @ApiCreatedResponse({ type: SavedPlanDto })
  plan(@CurrentPrincipal() p: Principal, @Param('scope') scope: string, @Body() body: unknown): Promise<SavedPlanDto> {
    return this.plans.planScope(p, scope, body);
  }

  @Get('policy-plans/:id')
  @ApiOkResponse({ type: SavedPlanDto })
  getPlan(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<SavedPlanDto> {
    return this.plans.getSaved(p, id);
  }

  @Post('policy-plans/:id/apply')
  @HttpCode(200)
  @ApiOperation({ summary: 'Apply exactly a reviewed plan; 409 if the policy changed since it was made' })
  @ApiBody({ type: ApplyRequestDto })
  @ApiOkResponse({ type: ApplyResultDto })
  apply(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ApplyPlanDto): Promise<ApplyResultDto> {
    return this.plans.applySaved(p, id, rolloutRequest(body.stages, body.stageWaitMinutes));
  }

  @Get('ministries/:code/effective-policy')
  @ApiOperation({ summary: 'Effective policy of a ministry, without exemptions' })
  @ApiOkResponse({ type: EffectivePolicyDto })
  ministryEffective(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<EffectivePolicyDto> {
    return this.effective.forMinistry(p, code);
  }

  @Get('agents/:id/effective-policy')
  @ApiOperation({ summary: 'Effective policy of an agent (use "me" for yourself)' })
  @ApiErrors('policy', 'directory')
  @ApiOkResponse({ type: EffectivePolicyDto })
  agentEffective(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<EffectivePolicyDto> {
    return this.effective.forAgent(p, id === 'me' ? p.agentId : id);
  }

  @Get('devices/:id/effective-policy')
  @ApiErrors('policy', 'directory')
  @ApiOkResponse({ type: DeviceEffectivePolicyDto })
  deviceEffective(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<DeviceEffectivePolicyDto> {
    return this.effective.forDevice(p, id);
  }
}
