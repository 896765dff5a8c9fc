import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AgentDto } from '../directory/directory.responses';
import { DirectoryService } from '../directory/directory.service';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { DeactivateAgentDto } from './api-tokens.dto';
import { Principal } from './principal';
import { CurrentPrincipal } from './public.decorator';

/** Accounts of people who leave: deactivated at once (tokens, API tokens and sessions refused), or back. */
@ApiTags('directory')
@ApiBearerAuth()
@ApiErrors('directory')
@Controller('agents')
export class AccountsController {
  constructor(private readonly directory: DirectoryService) {}

  @Post(':id/deactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deactivate an account: its sessions end, its API tokens are revoked, its tokens refused' })
  @ApiOkResponse({ type: AgentDto, description: 'The agent' })
  deactivate(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: DeactivateAgentDto,
  ): Promise<AgentDto> {
    return this.directory.deactivate(p, id, body.reason);
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reactivate a deactivated account' })
  @ApiOkResponse({ type: AgentDto, description: 'The agent' })
  reactivate(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<AgentDto> {
    return this.directory.reactivate(p, id);
  }
}
