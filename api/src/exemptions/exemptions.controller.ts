import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import {
  ApproveExemptionDto,
  ExemptionQueueQuery,
  ReasonDto,
  RenewExemptionDto,
  RequestExemptionDto,
} from './exemptions.dto';
import { ExemptionsService } from './exemptions.service';

@ApiTags('exemptions')
@ApiBearerAuth()
@Controller()
export class ExemptionsController {
  constructor(private readonly exemptions: ExemptionsService) {}

  @Post('exemptions')
  @ApiOperation({ summary: 'Ask for an exemption from a block, for an institutional need' })
  request(@CurrentPrincipal() p: Principal, @Body() body: RequestExemptionDto) {
    return this.exemptions.request(p, body);
  }

  @Get('me/exemptions')
  mine(@CurrentPrincipal() p: Principal) {
    return this.exemptions.mine(p);
  }

  @Get('exemptions/:id')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.exemptions.get(p, id);
  }

  @Post('exemptions/:id/approve')
  @HttpCode(200)
  approve(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ApproveExemptionDto) {
    return this.exemptions.approve(p, id, body);
  }

  @Post('exemptions/:id/deny')
  @HttpCode(200)
  deny(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ReasonDto) {
    return this.exemptions.deny(p, id, body.reason);
  }

  @Post('exemptions/:id/revoke')
  @HttpCode(200)
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: ReasonDto) {
    return this.exemptions.revoke(p, id, body.reason);
  }

  @Post('exemptions/:id/cancel')
  @HttpCode(200)
  cancel(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.exemptions.cancel(p, id);
  }

  @Post('exemptions/:id/renew')
  @ApiOperation({ summary: 'One-click renewal request of an active exemption' })
  renew(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: RenewExemptionDto) {
    return this.exemptions.renew(p, id, body.justification);
  }

  @Get('ministries/:code/exemptions')
  @ApiOperation({ summary: "The approvers' queue (default: pending), oldest first" })
  queue(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Query() q: ExemptionQueueQuery) {
    return this.exemptions.queue(p, code, q);
  }

  @Get('ministries/:code/exemption-register')
  @ApiOperation({ summary: 'Active exemptions: who holds what, why, approved by whom, until when' })
  register(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    return this.exemptions.register(p, code);
  }

  @Get('ministries/:code/exemption-register.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  registerCsv(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    return this.exemptions.registerCsv(p, code);
  }
}
