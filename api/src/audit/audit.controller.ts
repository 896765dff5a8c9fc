import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { AuditEventDto, AuditVerificationDto } from './audit.responses';
import { AuditService } from './audit.service';

export class AuditQuery {
  @ApiPropertyOptional({ type: 'string', description: 'Ministry code (default: every ministry you may read)' })
  @IsOptional()
  @IsString()
  ministry?: string;

  @ApiPropertyOptional({ type: 'string' })
  @IsOptional()
  @IsString()
  entityType?: string;

  @ApiPropertyOptional({ type: 'string' })
  @IsOptional()
  @IsString()
  entityId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, description: 'Default 100' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'Events before this one (paging backwards)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  beforeSeq?: number;
}

@ApiTags('audit')
@ApiBearerAuth()
@ApiErrors()
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOkResponse({ type: [AuditEventDto], description: 'Newest first' })
  list(@CurrentPrincipal() p: Principal, @Query() q: AuditQuery): Promise<AuditEventDto[]> {
    return this.audit.list(p, q);
  }

  @Get('verify')
  @ApiOkResponse({ type: AuditVerificationDto })
  verify(@CurrentPrincipal() p: Principal): Promise<AuditVerificationDto> {
    return this.audit.verify(p);
  }
}
