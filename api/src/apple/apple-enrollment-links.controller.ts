import { Controller, Delete, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiSchema, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { AppleEnrollmentService, EnrollmentLinkView } from './apple-enrollment.service';

@ApiSchema({
  name: 'AppleEnrollmentLinkState',
  description: 'An enrollment link after its creation: what it may still enroll (its URL is not shown again).',
})
export class EnrollmentLinkViewDto implements EnrollmentLinkView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({
    type: 'string',
    format: 'email',
    nullable: true,
    description: 'The agent it is for; null: ministry-wide',
  })
  agent: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  expiresAt: Date;

  @ApiProperty({ type: 'integer', description: 'Phones it may enroll' })
  devices: number;

  @ApiProperty({ type: 'integer', description: 'Phones it enrolled' })
  enrolled: number;

  @ApiProperty({ type: 'string' })
  createdBy: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  revokedAt: Date | null;
}

/** The ministry's live enrollment links, and their revocation (a link sent to the wrong person, a lost phone). */
@ApiErrors('apple')
@ApiTags('apple')
@ApiBearerAuth()
@Controller('ministries/:code/apple/enrollment-links')
export class AppleEnrollmentLinksController {
  constructor(private readonly enrollment: AppleEnrollmentService) {}

  @Get()
  @ApiOperation({ summary: 'Enrollment links of the ministry that can still enroll a phone' })
  @ApiOkResponse({ type: [EnrollmentLinkViewDto] })
  list(@CurrentPrincipal() p: Principal, @Param('code') code: string): Promise<EnrollmentLinkViewDto[]> {
    return this.enrollment.listLinks(p, code);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Revoke an enrollment link: no more downloads, and identities downloaded but not enrolled are refused',
  })
  @ApiOkResponse({ type: EnrollmentLinkViewDto })
  revoke(
    @CurrentPrincipal() p: Principal,
    @Param('code') code: string,
    @Param('id') id: string,
  ): Promise<EnrollmentLinkViewDto> {
    return this.enrollment.revokeLink(p, code, id);
  }
}
