import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { PLATFORMS, Platform } from '../devices/platforms';
import {
  COMPLIANCE_REASON_CODES,
  COMPLIANCE_STATES,
  ComplianceReasonCode,
  ComplianceState,
} from './compliance-evaluator';

const MINISTRY_CODE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export const EXPORT_DATASETS = ['ministries', 'apps', 'os', 'trend', 'exemptions'] as const;
export type ExportDataset = (typeof EXPORT_DATASETS)[number];

// --- Queries ------------------------------------------------------------------------------------

export class MinistryComplianceQuery extends PageQuery {
  @ApiPropertyOptional({
    enum: COMPLIANCE_STATES,
    description: 'Phones listed in the drill-down; default: non-compliant and unknown',
  })
  @IsOptional()
  @IsIn(COMPLIANCE_STATES, { message: `state must be one of ${COMPLIANCE_STATES.join(', ')}` })
  state?: ComplianceState;
}

export class MinistryFilterQuery {
  @ApiPropertyOptional({ description: "A ministry's code; omit for the whole state (national admins)" })
  @IsOptional()
  @Matches(MINISTRY_CODE, { message: 'ministry must be a ministry code such as "interieur"' })
  ministry?: string;
}

export class TrendQuery extends MinistryFilterQuery {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'First day (Europe/Paris), default: 30 days ago' })
  @IsOptional()
  @Matches(DAY, { message: 'from must be a date written YYYY-MM-DD, such as 2026-11-01' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-12-01', description: 'Last day (Europe/Paris), default: today' })
  @IsOptional()
  @Matches(DAY, { message: 'to must be a date written YYYY-MM-DD, such as 2026-12-01' })
  to?: string;
}

export class ExportQuery extends TrendQuery {
  @ApiProperty({ enum: EXPORT_DATASETS, description: 'Which aggregates (no personal data in any of them)' })
  @IsIn(EXPORT_DATASETS, { message: `dataset must be one of ${EXPORT_DATASETS.join(', ')}` })
  dataset: ExportDataset;
}

// --- Answers ------------------------------------------------------------------------------------

@ApiSchema({ name: 'ComplianceCounts', description: 'Enrolled phones by compliance state.' })
export class ComplianceCountsDto {
  @ApiProperty({ type: 'integer' })
  phones: number;

  @ApiProperty({ type: 'integer' })
  compliant: number;

  @ApiProperty({ type: 'integer' })
  nonCompliant: number;

  @ApiProperty({ type: 'integer', description: 'Never reported (or not completely yet): never counted as compliant' })
  unknown: number;

  @ApiProperty({ type: 'integer', description: 'No report for more than staleAfterDays days' })
  stale: number;

  @ApiProperty({
    type: 'number',
    nullable: true,
    description: 'compliant / phones in percent (one decimal); null without phones',
  })
  compliantPercent: number | null;

  @ApiProperty({ type: 'integer', description: 'Phones with at least one banned app installed at their last report' })
  withBannedApps: number;
}

@ApiSchema({ name: 'PlatformComplianceCounts' })
export class PlatformCountsDto extends ComplianceCountsDto {
  @ApiProperty({ enum: PLATFORMS, enumName: 'Platform' })
  platform: Platform;
}

@ApiSchema({ name: 'MinistryComplianceSummary' })
export class MinistrySummaryDto {
  @ApiProperty()
  ministry: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: ComplianceCountsDto })
  totals: ComplianceCountsDto;

  @ApiProperty({ type: [PlatformCountsDto] })
  byPlatform: PlatformCountsDto[];
}

@ApiSchema({ name: 'OsVersionCount', description: 'Enrolled phones per OS major version.' })
export class OsVersionCountDto {
  @ApiProperty({ enum: PLATFORMS, enumName: 'Platform' })
  platform: Platform;

  @ApiProperty({ type: 'string', nullable: true, description: 'Major version ("17"), null when not reported' })
  osMajor: string | null;

  @ApiProperty({ description: 'Older than the oldest version on which the policy can be enforced' })
  tooOld: boolean;

  @ApiProperty({ type: 'integer' })
  phones: number;
}

@ApiSchema({
  name: 'BannedAppCount',
  description: 'Phones still carrying a banned app (no exemption) at their last report.',
})
export class BannedAppCountDto {
  @ApiProperty({ description: 'Catalog slug' })
  app: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: 'integer' })
  phones: number;

  @ApiProperty({ type: 'integer' })
  android: number;

  @ApiProperty({ type: 'integer' })
  ios: number;
}

@ApiSchema({ name: 'NationalCompliance', description: 'The national observatory: every ministry, no personal data.' })
export class NationalComplianceDto {
  @ApiProperty({ type: 'string', format: 'date-time' })
  generatedAt: Date;

  @ApiProperty({ type: 'integer' })
  staleAfterDays: number;

  @ApiProperty({ type: ComplianceCountsDto })
  totals: ComplianceCountsDto;

  @ApiProperty({ type: [PlatformCountsDto] })
  byPlatform: PlatformCountsDto[];

  @ApiProperty({ type: [MinistrySummaryDto], description: 'Every ministry, those without phones included' })
  ministries: MinistrySummaryDto[];

  @ApiProperty({ type: [OsVersionCountDto] })
  osVersions: OsVersionCountDto[];

  @ApiProperty({ type: [BannedAppCountDto], description: 'The ten banned apps on the most phones' })
  bannedApps: BannedAppCountDto[];
}

@ApiSchema({ name: 'ComplianceReason' })
export class ComplianceReasonDto {
  @ApiProperty({ enum: COMPLIANCE_REASON_CODES, enumName: 'ComplianceReasonCode' })
  code: ComplianceReasonCode;

  @ApiPropertyOptional({ description: 'The app concerned (catalog slug)' })
  app?: string;

  @ApiProperty({ example: 'banned app still installed: TikTok' })
  text: string;
}

@ApiSchema({
  name: 'ComplianceDevice',
  description: 'A phone of the drill-down (ministry IT and digital directorate).',
})
export class ComplianceDeviceDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty()
  displayName: string;

  @ApiProperty({ enum: PLATFORMS, enumName: 'Platform' })
  platform: Platform;

  @ApiProperty({ type: 'string', nullable: true })
  model: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  osVersion: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  agentEmail: string | null;

  @ApiProperty({ enum: COMPLIANCE_STATES, enumName: 'ComplianceState' })
  compliance: ComplianceState;

  @ApiProperty({ type: 'string', nullable: true })
  complianceReason: string | null;

  @ApiProperty({ type: [ComplianceReasonDto] })
  reasons: ComplianceReasonDto[];

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastSeenAt: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'Last complete report' })
  reportedAt: Date | null;
}

@ApiSchema({ name: 'ComplianceDevicePage' })
export class ComplianceDevicePageDto {
  @ApiProperty({ enum: COMPLIANCE_STATES, isArray: true, enumName: 'ComplianceState' })
  states: ComplianceState[];

  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ type: 'integer' })
  limit: number;

  @ApiProperty({ type: 'integer' })
  offset: number;

  @ApiProperty({ type: [ComplianceDeviceDto] })
  items: ComplianceDeviceDto[];
}

@ApiSchema({ name: 'MinistryCompliance', description: "A ministry's figures, with its phones to look at." })
export class MinistryComplianceDto extends MinistrySummaryDto {
  @ApiProperty({ type: 'string', format: 'date-time' })
  generatedAt: Date;

  @ApiProperty({ type: 'integer' })
  staleAfterDays: number;

  @ApiProperty({ type: [OsVersionCountDto] })
  osVersions: OsVersionCountDto[];

  @ApiProperty({ type: [BannedAppCountDto] })
  bannedApps: BannedAppCountDto[];

  @ApiProperty({ type: 'integer', description: 'Exemptions approved and running in this ministry' })
  activeExemptions: number;

  @ApiProperty({ type: ComplianceDevicePageDto })
  devices: ComplianceDevicePageDto;
}

@ApiSchema({ name: 'MinistryPhones' })
export class MinistryPhonesDto {
  @ApiProperty()
  ministry: string;

  @ApiProperty({ type: 'integer' })
  phones: number;
}

@ApiSchema({ name: 'BannedAppRank' })
export class BannedAppRankDto extends BannedAppCountDto {
  @ApiProperty({ type: [MinistryPhonesDto], description: 'Per ministry, most phones first' })
  ministries: MinistryPhonesDto[];
}

@ApiSchema({ name: 'BannedAppRanking', description: 'Banned apps still installed, most phones first.' })
export class BannedAppRankingDto {
  @ApiProperty({ type: 'string', format: 'date-time' })
  generatedAt: Date;

  @ApiProperty({ type: 'string', nullable: true, description: 'null: every ministry' })
  ministry: string | null;

  @ApiProperty({ type: [BannedAppRankDto] })
  apps: BannedAppRankDto[];
}

@ApiSchema({ name: 'CompliancePoint', description: 'One day of the daily snapshot.' })
export class TrendPointDto extends ComplianceCountsDto {
  @ApiProperty({ type: 'string', format: 'date', example: '2026-12-01' })
  day: string;
}

@ApiSchema({ name: 'ComplianceSeries' })
export class TrendSeriesDto {
  @ApiProperty({ type: 'string', nullable: true, description: 'null: every ministry together' })
  ministry: string | null;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: [TrendPointDto] })
  points: TrendPointDto[];
}

@ApiSchema({ name: 'ComplianceTrend', description: 'Daily snapshots: all ministries together, then each.' })
export class ComplianceTrendDto {
  @ApiProperty({ type: 'string', format: 'date' })
  from: string;

  @ApiProperty({ type: 'string', format: 'date' })
  to: string;

  @ApiProperty({ type: 'string', nullable: true })
  ministry: string | null;

  @ApiProperty({ type: [TrendSeriesDto] })
  series: TrendSeriesDto[];
}

@ApiSchema({ name: 'ExemptionCountByMinistry' })
export class ExemptionMinistryCountDto {
  @ApiProperty()
  ministry: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: 'integer' })
  active: number;
}

@ApiSchema({ name: 'ExemptionCountByApp' })
export class ExemptionAppCountDto {
  @ApiProperty()
  app: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: 'integer' })
  active: number;
}

@ApiSchema({ name: 'ExemptionCount' })
export class ExemptionCellDto {
  @ApiProperty()
  ministry: string;

  @ApiProperty()
  app: string;

  @ApiProperty({ type: 'integer' })
  active: number;
}

@ApiSchema({ name: 'NationalExemptionRegister', description: 'Active exemptions counted per ministry and app.' })
export class ExemptionRegisterDto {
  @ApiProperty({ type: 'string', format: 'date-time' })
  generatedAt: Date;

  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ type: [ExemptionMinistryCountDto] })
  byMinistry: ExemptionMinistryCountDto[];

  @ApiProperty({ type: [ExemptionAppCountDto] })
  byApp: ExemptionAppCountDto[];

  @ApiProperty({ type: [ExemptionCellDto] })
  cells: ExemptionCellDto[];
}

export type ExportCell = string | number | null;

@ApiSchema({ name: 'ComplianceExport', description: 'Aggregates only, fit for open data.' })
export class ComplianceExportDto {
  @ApiProperty({ enum: EXPORT_DATASETS })
  dataset: ExportDataset;

  @ApiProperty({ type: 'string', format: 'date-time' })
  generatedAt: Date;

  @ApiProperty({ type: 'string', nullable: true })
  ministry: string | null;

  @ApiProperty({ type: [String], description: 'Column names, in the order of the CSV export' })
  columns: string[];

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }] } },
  })
  rows: Record<string, ExportCell>[];
}
