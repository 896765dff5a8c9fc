import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AgentView, DirectoryService } from '../directory/directory.service';
import { DeactivateAgentDto } from './api-tokens.dto';
import { Principal } from './principal';
import { CurrentPrincipal } from './public.decorator';

/** Accounts of people who leave: deactivated at once (tokens, API tokens and sessions refused), or back. */
@ApiTags('directory')
@ApiBearerAuth()
@Controller('agents')
export class AccountsController {
  constructor(private readonly directory: DirectoryService) {}

  @Post(':id/deactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deactivate an account: its sessions end, its API tokens are revoked, its tokens refused' })
  @ApiOkResponse({ description: 'The agent (see Agent)' })
  deactivate(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: DeactivateAgentDto,
  ): Promise<AgentView> {
    return this.directory.deactivate(p, id, body.reason);
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reactivate a deactivated account' })
  @ApiOkResponse({ description: 'The agent (see Agent)' })
  reactivate(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<AgentView> {
    return this.directory.reactivate(p, id);
  }
}
