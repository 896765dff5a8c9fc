import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Role, ROLES } from '../directory/role-assignment.entity';
import { API_TOKEN_KINDS, ApiTokenKind, ApiTokenView, CreatedApiToken, MAX_TOKEN_DAYS } from './api-token.service';

export class CreateApiTokenDto {
  @ApiProperty({
    enum: [...API_TOKEN_KINDS],
    description:
      '`personal`: acts as you, within one role you hold. `service`: its own account for a pipeline (it-admin of one ministry, or national-admin).',
  })
  @IsIn(API_TOKEN_KINDS)
  kind: ApiTokenKind;

  @ApiProperty({ description: 'What it is for, as the audit log shows it', example: 'CI policies (GitLab)' })
  @IsString()
  @MinLength(3)
  @MaxLength(100)
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]+$/, { message: 'name must be printable text' })
  name: string;

  @ApiProperty({ enum: [...ROLES], enumName: 'Role' })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional({ type: 'string', description: 'The ministry the role is held in; omit for national-admin' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  ministry?: string;

  @ApiProperty({ description: `Days until it expires (1 to ${MAX_TOKEN_DAYS})`, example: 90 })
  @IsInt()
  @Min(1)
  @Max(MAX_TOKEN_DAYS)
  expiresInDays: number;
}

export class DeactivateAgentDto {
  @ApiProperty({ description: 'Why (kept in the audit log)', example: 'Départ du ministère le 31 mars' })
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  reason: string;
}

@ApiSchema({ name: 'ApiToken', description: 'A personal or service API token (never its secret).' })
export class ApiTokenDto implements ApiTokenView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ enum: [...API_TOKEN_KINDS] })
  kind: ApiTokenKind;

  @ApiProperty()
  name: string;

  @ApiProperty({ enum: [...ROLES], enumName: 'Role' })
  role: Role;

  @ApiProperty({ type: 'string', nullable: true, description: 'null for national-admin' })
  ministry: string | null;

  @ApiProperty({ type: 'string', format: 'uuid', description: 'The account it acts as' })
  agentId: string;

  @ApiProperty({ type: 'string', format: 'uuid' })
  createdBy: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time' })
  expiresAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  revokedAt: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastUsedAt: Date | null;
}

@ApiSchema({ name: 'CreatedApiToken', description: 'A new API token, with its secret: shown once.' })
export class CreatedApiTokenDto extends ApiTokenDto implements CreatedApiToken {
  @ApiProperty({ description: 'Send as `Authorization: Bearer <token>`; only its hash is kept', example: 'mdm_svc_…' })
  token: string;
}
