import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { AgentDto, MinistryDto } from './directory.responses';
import { DirectoryService } from './directory.service';
import { Role, ROLES } from './role-assignment.entity';

export class GrantRoleDto {
  @ApiProperty({ enum: [...ROLES], enumName: 'Role' })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional({ type: 'string', description: 'The ministry the role is held in; omit for national-admin' })
  @IsOptional()
  @IsString()
  ministry?: string;
}

@ApiTags('directory')
@ApiBearerAuth()
@ApiErrors('directory')
@Controller()
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Get('me')
  @ApiOperation({ summary: 'The signed-in agent, with their roles' })
  @ApiOkResponse({ type: AgentDto })
  me(@CurrentPrincipal() p: Principal): Promise<AgentDto> {
    return this.directory.getAgent(p, p.agentId);
  }

  @Get('ministries')
  @ApiOkResponse({ type: [MinistryDto] })
  ministries(): Promise<MinistryDto[]> {
    return this.directory.listMinistries();
  }

  @Get('ministries/:code/agents')
  @ApiOkResponse({ type: [AgentDto], description: 'At most 500, by email' })
  agents(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<AgentDto[]> {
    return this.directory.listAgents(p, code);
  }

  @Get('agents/:id')
  @ApiOkResponse({ type: AgentDto })
  agent(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<AgentDto> {
    return this.directory.getAgent(p, id);
  }

  @Post('agents/:id/roles')
  @ApiCreatedResponse({ type: AgentDto, description: 'The agent with the new role' })
  grant(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: GrantRoleDto): Promise<AgentDto> {
    return this.directory.grantRole(p, id, body.role, body.ministry ?? null);
  }

  @Delete('agents/:id/roles/:assignmentId')
  @ApiOkResponse({ type: AgentDto, description: 'The agent without the role' })
  revoke(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('assignmentId') assignmentId: string,
  ): Promise<AgentDto> {
    return this.directory.revokeRole(p, id, assignmentId);
  }
}
