import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';

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
  @ApiPropertyOptional({ description: 'Recorded with the new version.' })
  comment?: string;
  @ApiProperty({ description: 'Rules: { app, action: block|allow|require, exemptable, maxExemptionDays?, legalBasis? }', type: 'array', items: { type: 'object' } })
  rules: object[];
}
