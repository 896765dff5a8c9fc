import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiTokenService } from './api-token.service';
import { ApiTokenDto, CreateApiTokenDto, CreatedApiTokenDto } from './api-tokens.dto';
import { Principal } from './principal';
import { CurrentPrincipal } from './public.decorator';

/** The service's own tokens, for scripts and pipelines (ProConnect's tokens are not for that). */
@ApiTags('api-tokens')
@ApiBearerAuth()
@Controller('api-tokens')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokenService) {}

  @Post()
  @ApiOperation({ summary: 'Create a personal or service API token (its secret is shown once)' })
  @ApiCreatedResponse({ type: CreatedApiTokenDto })
  create(@CurrentPrincipal() p: Principal, @Body() body: CreateApiTokenDto): Promise<CreatedApiTokenDto> {
    return this.tokens.create(p, { ...body, ministry: body.ministry ?? null });
  }

  @Get()
  @ApiOperation({ summary: 'Your API tokens and those you created (every token for national admins)' })
  @ApiOkResponse({ type: [ApiTokenDto] })
  list(@CurrentPrincipal() p: Principal): Promise<ApiTokenDto[]> {
    return this.tokens.list(p);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke an API token, at once' })
  @ApiOkResponse({ type: ApiTokenDto })
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<ApiTokenDto> {
    return this.tokens.revoke(p, id);
  }
}
