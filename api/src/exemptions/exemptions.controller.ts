import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { EXEMPTION_STATUSES, ExemptionView } from './exemption-view';
import {
  ApproveExemptionDto,
  ExemptionQueueQuery,
  ReasonDto,
  RenewExemptionDto,
  RequestExemptionDto,
} from './exemptions.dto';
import { ExemptionPageDto } from './exemptions.responses';
import { ExemptionsService } from './exemptions.service';

@ApiTags('exemptions')
@ApiBearerAuth()
@ApiErrors('exemption')
@Controller()
export class ExemptionsController {
  constructor(private readonly exemptions: ExemptionsService) {}

  @Post('exemptions')
  @ApiOperation({ summary: 'Ask for an exemption from a block, for an institutional need' })
  @ApiErrors('exemption', 'policy')
  @ApiCreatedResponse({ type: ExemptionView })
  request(@CurrentPrincipal() p: Principal, @Body() body: RequestExemptionDto): Promise<ExemptionView> {
    return this.exemptions.request(p, body);
  }

  @Get('me/exemptions')
  @ApiOkResponse({ type: [ExemptionView] })
  mine(@CurrentPrincipal() p: Principal): Promise<ExemptionView[]> {
    return this.exemptions.mine(p);
  }

  @Get('exemptions/:id')
  @ApiOkResponse({ type: ExemptionView })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<ExemptionView> {
    return this.exemptions.get(p, id);
  }

  @Post('exemptions/:id/approve')
  @HttpCode(200)
  @ApiErrors('exemption', 'policy')
  @ApiOkResponse({ type: ExemptionView })
  approve(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: ApproveExemptionDto,
  ): Promise<ExemptionView> {
    return this.exemptions.approve(p, id, body);
  }

  @Post('exemptions/:id/deny')
  @HttpCode(200)
  @ApiOkResponse({ type: ExemptionView })
  deny(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ReasonDto): Promise<ExemptionView> {
    return this.exemptions.deny(p, id, body.reason);
  }

  @Post('exemptions/:id/revoke')
  @HttpCode(200)
  @ApiOkResponse({ type: ExemptionView })
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ReasonDto): Promise<ExemptionView> {
    return this.exemptions.revoke(p, id, body.reason);
  }

  @Post('exemptions/:id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: ExemptionView })
  cancel(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<ExemptionView> {
    return this.exemptions.cancel(p, id);
  }

  @Post('exemptions/:id/renew')
  @ApiOperation({ summary: 'One-click renewal request of an active exemption' })
  @ApiErrors('exemption', 'policy')
  @ApiCreatedResponse({ type: ExemptionView, description: 'The new (pending) request' })
  renew(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() body: RenewExemptionDto,
  ): Promise<ExemptionView> {
    return this.exemptions.renew(p, id, body.justification);
  }

  @Get('ministries/:code/exemptions')
  @ApiOperation({ summary: "The approvers' queue (default: pending), oldest first" })
  @ApiQuery({ name: 'status', required: false, enum: [...EXEMPTION_STATUSES], enumName: 'ExemptionStatus' })
  @ApiQuery({ name: 'app', type: 'string', required: false, description: 'Catalog slug' })
  @ApiQuery({ name: 'limit', required: false, type: 'integer', description: '1 to 500 (default 100)' })
  @ApiQuery({ name: 'offset', required: false, type: 'integer', description: 'Not with cursor' })
  @ApiQuery({
    name: 'cursor',
    required: false,
    type: 'string',
    description: "The previous page's nextCursor: keyset paging on (requested_at, id), for big queues",
  })
  @ApiOkResponse({ type: ExemptionPageDto })
  queue(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Query() q: ExemptionQueueQuery,
  ): Promise<ExemptionPageDto> {
    return this.exemptions.queue(p, code, q);
  }

  @Get('ministries/:code/exemption-register')
  @ApiOperation({ summary: 'Active exemptions: who holds what, why, approved by whom, until when' })
  @ApiOkResponse({ type: [ExemptionView] })
  register(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<ExemptionView[]> {
    return this.exemptions.register(p, code);
  }

  @Get('ministries/:code/exemption-register.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @Header('Content-Disposition', 'attachment; filename="registre-des-derogations.csv"')
  @ApiOperation({ summary: 'The register of active exemptions as CSV, for French Excel' })
  @ApiOkResponse({
    description:
      'CSV as French Excel opens it: `;` separated, UTF-8 with BOM, CRLF, dates and times in Europe/Paris local time; one line per active exemption',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  registerCsv(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<string> {
    return this.exemptions.registerCsv(p, code);
  }
}
