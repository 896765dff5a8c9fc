import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiSchema,
  ApiTags,
} from '@nestjs/swagger';
import { IsBase64, IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { CHECKPOINT_FORMAT, SignedAuditCheckpoint } from './audit-checkpoints';
import { AuditVerificationDto } from './audit.responses';
import { AuditService } from './audit.service';

const HASH = /^[0-9a-f]{64}$/;

@ApiSchema({
  name: 'AuditCheckpoint',
  description:
    'The head of the audit chain at one moment, signed (Ed25519) with the audit key: kept outside the database, it lets a later verification find a rewrite of anything up to that event.',
})
export class SignedAuditCheckpointDto implements SignedAuditCheckpoint {
  @ApiProperty({ type: 'string', enum: [CHECKPOINT_FORMAT] })
  @IsIn([CHECKPOINT_FORMAT])
  format: typeof CHECKPOINT_FORMAT;

  @ApiProperty({ type: 'string', description: 'The database the log lives in' })
  @IsString()
  @MaxLength(200)
  database: string;

  @ApiProperty({ type: 'string', description: "The hash of the log's first event" })
  @Matches(HASH, { message: 'chain must be 64 hexadecimal digits' })
  chain: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'The last event then' })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  seq: number;

  @ApiProperty({ type: 'string', description: 'Its hash' })
  @Matches(HASH, { message: 'hash must be 64 hexadecimal digits' })
  hash: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  @IsISO8601()
  at: string;

  @ApiProperty({ type: 'string', description: 'The audit key that signed it' })
  @IsString()
  @MaxLength(64)
  keyId: string;

  @ApiProperty({ type: 'string', description: 'Ed25519 signature of the fields above (canonical JSON), base64' })
  @IsBase64()
  @MaxLength(200)
  signature: string;

  @ApiPropertyOptional({ type: 'string', description: 'The public key that checks the signature (PEM)' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  publicKey: string;
}

/**
 * Anchoring the audit log outside its database: signed checkpoints of the chain's head, which a
 * national admin keeps (the service also appends one to AUDIT_CHECKPOINT_DIR every 5 minutes), and
 * a verification against a checkpoint kept that way.
 */
@ApiErrors('audit')
@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditCheckpointsController {
  constructor(private readonly audit: AuditService) {}

  @Post('checkpoints')
  @ApiOperation({ summary: 'A signed checkpoint of the audit chain now, to keep outside the service' })
  @ApiCreatedResponse({ type: SignedAuditCheckpointDto })
  checkpoint(@CurrentPrincipal() p: Principal): Promise<SignedAuditCheckpointDto> {
    return this.audit.checkpoint(p);
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Verify the audit log, also against a checkpoint you kept (POST /audit/checkpoints made it)',
  })
  @ApiOkResponse({ type: AuditVerificationDto })
  verify(
    @CurrentPrincipal() p: Principal,
    @Body() checkpoint: SignedAuditCheckpointDto,
  ): Promise<AuditVerificationDto> {
    return this.audit.verify(p, { ...checkpoint });
  }
}
