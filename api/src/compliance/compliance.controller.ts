import { Controller, Get, Header, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import {
  BannedAppRankingDto,
  ComplianceExportDto,
  ComplianceTrendDto,
  ExemptionRegisterDto,
  ExportQuery,
  MinistryComplianceDto,
  MinistryComplianceQuery,
  MinistryFilterQuery,
  NationalComplianceDto,
  TrendQuery,
} from './compliance.dto';
import { ComplianceService } from './compliance.service';

@ApiTags('compliance')
@ApiBearerAuth()
@ApiErrors('compliance')
@Controller('compliance')
export class ComplianceController {
  constructor(private readonly compliance: ComplianceService) {}

  @Get('national')
  @ApiOperation({
    summary:
      'Every ministry: phones, compliant, non-compliant, unknown (never reported), stale; by platform, OS version; top banned apps',
  })
  @ApiOkResponse({ type: NationalComplianceDto })
  national(@CurrentPrincipal() p: Principal): Promise<NationalComplianceDto> {
    return this.compliance.national(p);
  }

  @Get('ministries/:code')
  @ApiOperation({ summary: "A ministry's figures and its non-compliant and unknown phones (paged)" })
  @ApiQuery({ name: 'limit', required: false, type: 'integer', description: 'Phones per page, 1 to 500 (default 50)' })
  @ApiQuery({ name: 'offset', required: false, type: 'integer', description: 'Phones skipped (default 0)' })
  @ApiOkResponse({ type: MinistryComplianceDto })
  ministry(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Query() q: MinistryComplianceQuery,
  ): Promise<MinistryComplianceDto> {
    return this.compliance.ministry(p, code, q);
  }

  @Get('apps')
  @ApiOperation({ summary: 'Banned apps still installed (no exemption), most phones first' })
  @ApiOkResponse({ type: BannedAppRankingDto })
  apps(@CurrentPrincipal() p: Principal, @Query() q: MinistryFilterQuery): Promise<BannedAppRankingDto> {
    return this.compliance.apps(p, q.ministry);
  }

  @Get('trend')
  @ApiOperation({ summary: 'Daily snapshots from `from` to `to` (at most 366 days): all ministries, then each' })
  @ApiOkResponse({ type: ComplianceTrendDto })
  trend(@CurrentPrincipal() p: Principal, @Query() q: TrendQuery): Promise<ComplianceTrendDto> {
    return this.compliance.trend(p, q);
  }

  @Get('exemptions')
  @ApiOperation({ summary: 'The national register of active exemptions, counted per ministry and app (no names)' })
  @ApiOkResponse({ type: ExemptionRegisterDto })
  exemptions(@CurrentPrincipal() p: Principal): Promise<ExemptionRegisterDto> {
    return this.compliance.exemptionRegister(p);
  }

  @Get('export.json')
  @ApiOperation({ summary: 'Aggregates as JSON (open data): ministries, apps, os, trend or exemptions' })
  @ApiOkResponse({ type: ComplianceExportDto })
  async exportJson(
    @CurrentPrincipal() p: Principal,
    @Query() q: ExportQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ComplianceExportDto> {
    const data = await this.compliance.export(p, q);
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="conformite-${q.dataset}-${q.ministry ?? 'national'}-${data.generatedAt.toISOString().slice(0, 10)}.json"`,
    );
    return data;
  }

  @Get('export.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiProduces('text/csv')
  @ApiOperation({
    summary: 'The same aggregates for French Excel: UTF-8 with BOM, ";" separator, local time (Europe/Paris)',
  })
  @ApiOkResponse({ schema: { type: 'string' }, description: 'CSV' })
  async exportCsv(
    @CurrentPrincipal() p: Principal,
    @Query() q: ExportQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    const { filename, body } = await this.compliance.exportCsv(p, q);
    res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
    return body;
  }
}
