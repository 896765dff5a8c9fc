import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../openapi/same-shape';
import type { AgentView } from './directory.service';
import type { Ministry } from './ministry.entity';
import { Role, ROLES } from './role-assignment.entity';

@ApiSchema({
  name: 'AgentRole',
  description: 'A role an agent holds, in one ministry (nationally for national-admin).',
})
export class AgentRoleDto {
  @ApiProperty({ type: 'string', format: 'uuid', description: 'The assignment (to revoke it)' })
  id: string;

  @ApiProperty({ enum: [...ROLES], enumName: 'Role' })
  role: Role;

  @ApiProperty({ type: 'string', nullable: true, description: 'null for national-admin' })
  ministry: string | null;
}

@ApiSchema({ name: 'Agent', description: 'An agent of a ministry, with their roles.' })
export class AgentDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string', format: 'email' })
  email: string;

  @ApiProperty({ type: 'string' })
  displayName: string;

  @ApiProperty({ type: 'string', description: 'Code of their ministry' })
  ministry: string;

  @ApiProperty({ type: () => AgentRoleDto, isArray: true })
  roles: AgentRoleDto[];
}
sameShape<AgentView, AgentDto>();

@ApiSchema({ name: 'AgentPage', description: 'One page of a ministry’s agents, and how many match in all.' })
export class AgentPageDto {
  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ type: () => AgentDto, isArray: true })
  items: AgentDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next page (keyset on email, id); null on the last page',
  })
  nextCursor: string | null;
}

@ApiSchema({
  name: 'Ministry',
  description: 'A ministry: the email domains and SIRET numbers its agents sign in with.',
})
export class MinistryDto {
  @ApiProperty({ type: 'string', example: 'interieur' })
  code: string;

  @ApiProperty({ type: 'string' })
  name: string;

  @ApiProperty({ type: 'string', isArray: true })
  emailDomains: string[];

  @ApiProperty({ type: 'string', isArray: true })
  siret: string[];

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;
}
sameShape<Ministry, MinistryDto>();
