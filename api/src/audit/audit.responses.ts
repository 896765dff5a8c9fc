import { ApiProperty, ApiPropertyOptional, ApiSchema, SchemaObject } from '@nestjs/swagger';
import { sameShape } from '../openapi/same-shape';
import type { AuditEvent } from './audit-event.entity';
import type { AuditVerification } from './audit.service';

/** Whatever JSON the change recorded (objects in practice). */
const ANY_JSON: SchemaObject[] = [
  { type: 'object', additionalProperties: true },
  { type: 'array', items: {} },
  { type: 'string' },
  { type: 'number' },
  { type: 'boolean' },
];

@ApiSchema({
  name: 'AuditEvent',
  description:
    'One write: who, what, before and after; chained to the previous event by HMAC-SHA256 under the audit key.',
})
export class AuditEventDto {
  @ApiProperty({ type: 'integer', description: 'Position in the chain' })
  seq: number;

  @ApiProperty({ type: 'string', format: 'date-time' })
  at: Date;

  @ApiProperty({ type: 'string', format: 'uuid', nullable: true, description: 'null for a process (CLI, scheduler)' })
  actorId: string | null;

  @ApiProperty({ type: 'string', example: 'Jeanne Martin <jeanne.martin@interieur.gouv.fr>' })
  actor: string;

  @ApiProperty({ type: 'string', example: 'exemption.approved' })
  action: string;

  @ApiProperty({ type: 'string' })
  entityType: string;

  @ApiProperty({ type: 'string' })
  entityId: string;

  @ApiProperty({ type: 'string', nullable: true })
  ministryCode: string | null;

  @ApiProperty({ description: 'The entity before the change, or null', nullable: true, anyOf: ANY_JSON })
  before: unknown;

  @ApiProperty({ description: 'The entity after the change, or null', nullable: true, anyOf: ANY_JSON })
  after: unknown;

  @ApiProperty({ type: 'string' })
  prevHash: string;

  @ApiProperty({ type: 'string' })
  hash: string;
}
sameShape<AuditEvent, AuditEventDto>();

@ApiSchema({ name: 'AuditProblem' })
export class AuditProblemDto {
  @ApiProperty({ type: 'integer' })
  seq: number;

  @ApiProperty({ type: 'string' })
  problem: string;
}

@ApiSchema({
  name: 'AuditCheckpointRef',
  description: 'A signed checkpoint of the chain: the event it recorded, and when.',
})
export class AuditCheckpointRefDto {
  @ApiProperty({ type: 'integer' })
  seq: number;

  @ApiProperty({ type: 'string', format: 'date-time' })
  at: string;
}

@ApiSchema({
  name: 'AuditVerification',
  description:
    'The result of walking the keyed hash chain from the start, then checking it against the latest signed checkpoint written outside the database.',
})
export class AuditVerificationDto {
  @ApiProperty({ type: 'boolean' })
  valid: boolean;

  @ApiProperty({ type: 'integer', description: 'Events checked before the first problem' })
  checked: number;

  @ApiPropertyOptional({
    type: () => AuditProblemDto,
    description: 'The first broken link: a row edited, deleted or inserted out of band',
  })
  firstProblem?: AuditProblemDto;

  @ApiPropertyOptional({
    type: () => AuditCheckpointRefDto,
    description: 'The latest signed checkpoint the log was checked against (absent: none written yet)',
  })
  checkpoint?: AuditCheckpointRefDto;
}
sameShape<AuditVerification, AuditVerificationDto>();
