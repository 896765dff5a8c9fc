import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { AgentDto, AgentPageDto, MinistryDto } from './directory.responses';
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

export class AgentListQuery {
  @IsOptional()
  @IsString()
  @MaxLength(100, { message: 'q must be at most 100 characters' })
  q?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** Keyset paging: the `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
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
  @ApiOperation({ summary: "A ministry's agents by email, with their roles, one page at a time" })
  @ApiQuery({ name: 'q', required: false, type: 'string', description: 'Search (case-insensitive) in name or email' })
  @ApiQuery({ name: 'limit', required: false, type: 'integer', description: '1 to 200 (default 50)' })
  @ApiQuery({
    name: 'cursor',
    required: false,
    type: 'string',
    description: "The previous page's nextCursor: keyset paging on (email, id)",
  })
  @ApiOkResponse({ type: AgentPageDto })
  agents(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Query() q: AgentListQuery,
  ): Promise<AgentPageDto> {
    return this.directory.listAgents(p, code, q);
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
