import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { DirectoryService } from './directory.service';
import { Role, ROLES } from './role-assignment.entity';

export class GrantRoleDto {
  @IsIn(ROLES)
  role: Role;

  @IsOptional()
  @IsString()
  ministry?: string;
}

@ApiTags('directory')
@ApiBearerAuth()
@Controller()
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Get('me')
  me(@CurrentPrincipal() p: Principal) {
    return this.directory.getAgent(p, p.agentId);
  }

  @Get('ministries')
  ministries() {
    return this.directory.listMinistries();
  }

  @Get('ministries/:code/agents')
  agents(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    return this.directory.listAgents(p, code);
  }

  @Get('agents/:id')
  agent(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.directory.getAgent(p, id);
  }

  @Post('agents/:id/roles')
  grant(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: GrantRoleDto) {
    return this.directory.grantRole(p, id, body.role, body.ministry ?? null);
  }

  @Delete('agents/:id/roles/:assignmentId')
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('assignmentId') assignmentId: string) {
    return this.directory.revokeRole(p, id, assignmentId);
  }
}
