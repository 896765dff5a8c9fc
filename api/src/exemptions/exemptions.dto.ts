import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { MAX_EXEMPTION_DAYS_LIMIT } from '../policies/policy.types';
import { EXEMPTION_STATUSES, ExemptionStatus } from './exemption.entity';

export class RequestExemptionDto {
  @ApiProperty({ example: 'x', description: 'Catalog slug of the app' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'app must be a catalog slug such as "x" or "zoom"' })
  app: string;

  @ApiPropertyOptional({ description: 'One of your devices; omit for all of them' })
  @IsOptional()
  @IsUUID('all', { message: 'deviceId must be the id of one of your devices' })
  deviceId?: string;

  @ApiProperty({
    example: "J'anime le compte X officiel du ministère (@Interieur_Gouv) pour la communication de crise.",
  })
  @IsString()
  @MinLength(20, { message: 'justification must explain the institutional need in at least 20 characters' })
  @MaxLength(2000)
  justification: string;

  @ApiProperty({ example: 180, description: 'Requested period in days, from approval' })
  @IsInt({ message: 'days must be a whole number of days' })
  @Min(1)
  @Max(MAX_EXEMPTION_DAYS_LIMIT)
  days: number;
}

export class ApproveExemptionDto {
  @ApiPropertyOptional({ description: 'Grant a shorter period than requested' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_EXEMPTION_DAYS_LIMIT)
  days?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class ReasonDto {
  @ApiProperty()
  @IsString()
  @MinLength(5, { message: 'reason must say why, in at least 5 characters' })
  @MaxLength(2000)
  reason: string;
}

export class RenewExemptionDto {
  @ApiPropertyOptional({ description: 'Updated justification; the previous one is reused if omitted' })
  @IsOptional()
  @IsString()
  @MinLength(20)
  @MaxLength(2000)
  justification?: string;
}

export class ExemptionQueueQuery extends PageQuery {
  @IsOptional()
  @IsIn(EXEMPTION_STATUSES)
  status?: ExemptionStatus;

  @IsOptional()
  @IsString()
  app?: string;

  @ApiPropertyOptional({ description: 'Only requests at least this many days old' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(36_500)
  minAgeDays?: number;

  /** Keyset paging: the `nextCursor` of the previous page; stable while requests arrive and leave. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
