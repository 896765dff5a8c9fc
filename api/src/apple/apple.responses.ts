import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../openapi/same-shape';
import type { AppleEnrollmentService } from './apple-enrollment.service';
import type { PushCertificateView } from './push-certificate.service';

@ApiSchema({ name: 'PushCertificate', description: 'The MDM push certificate: its topic and expiry.' })
export class PushCertificateDto {
  @ApiProperty({ type: 'string', example: 'com.apple.mgmt.External.0f3…' })
  topic: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  notAfter: Date;

  @ApiProperty({ type: 'integer' })
  daysLeft: number;

  @ApiProperty({ type: 'string', nullable: true, description: 'Set 30 days before expiry: what to do' })
  warning: string | null;

  @ApiProperty({ type: 'string' })
  uploadedBy: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  uploadedAt: Date;
}
sameShape<PushCertificateView, PushCertificateDto>();

@ApiSchema({ name: 'AppleEnrollmentLink', description: 'Where an iPhone downloads its enrollment profile.' })
export class AppleEnrollmentLinkDto {
  @ApiProperty({ type: 'string', format: 'uuid', description: 'To revoke it (DELETE …/enrollment-links/{id})' })
  id: string;

  @ApiProperty({ type: 'string', format: 'uri', description: 'The .mobileconfig download (a secret: shown once)' })
  url: string;

  @ApiProperty({ type: 'integer', description: 'Phones it may enroll (one for a link of one agent)' })
  devices: number;

  @ApiProperty({ type: 'string', format: 'date-time' })
  expiresAt: Date;

  @ApiProperty({
    type: 'string',
    format: 'email',
    nullable: true,
    description: 'The agent it is for; null: ministry-wide',
  })
  agent: string | null;
}
sameShape<Awaited<ReturnType<AppleEnrollmentService['createLink']>>, AppleEnrollmentLinkDto>();
