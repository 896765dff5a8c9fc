import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class RollbackDto {
  @ApiProperty({ description: 'The version whose content becomes current again (as a new version).' })
  @IsInt()
  @Min(1)
  version: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;
}

export class ApplyPlanDto {
  @ApiPropertyOptional({ description: 'Staged rollout: cumulative percentages of devices, ending at 100 (default [100], all at once)', example: [1, 10, 100] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(100, { each: true })
  stages?: number[];

  @ApiPropertyOptional({ description: 'Minutes to wait between stages', example: 60 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10080)
  stageWaitMinutes?: number;
}

export class DiffQuery {
  @ApiProperty()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  from: number;

  @ApiProperty()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  to: number;
}

export class PlanBodyDoc {
  @ApiProperty({ enum: ['blocklist', 'allowlist'] })
  mode: string;
  @ApiPropertyOptional()
  description?: string;
  @ApiPropertyOptional({ description: 'Oldest iOS the iPhones may run ("16", "17.4"; from 15): older ones are non-compliant.' })
  minimumIos?: string;
  @ApiPropertyOptional({ description: 'Recorded with the new version.' })
  comment?: string;
  @ApiProperty({ description: 'Rules: { app, action: block|allow|require, exemptable, maxExemptionDays?, legalBasis? }', type: 'array', items: { type: 'object' } })
  rules: object[];
}
