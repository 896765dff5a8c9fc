import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** An Android enrollment token as the API shows it (the response schema of POST …/android/enrollment-tokens). */
export const PERSONAL_USAGES = ['allowed', 'disallowed', 'dedicated'] as const;
export type PersonalUsage = (typeof PERSONAL_USAGES)[number];

@ApiSchema({ name: 'EnrollmentAgent', description: 'The agent a token or a link is for.' })
export class EnrollmentAgent {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string', format: 'email' })
  email: string;
}

@ApiSchema({ name: 'AndroidEnrollmentToken', description: 'An Android enrollment token (what the phone scans).' })
export class EnrollmentTokenView {
  @ApiProperty({ type: 'string', description: 'Google’s name of the token' })
  name: string;

  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: () => EnrollmentAgent, nullable: true, description: 'null: a ministry-wide token' })
  agent: EnrollmentAgent | null;

  @ApiProperty({ enum: [...PERSONAL_USAGES], enumName: 'PersonalUsage' })
  personalUsage: PersonalUsage;

  @ApiProperty({ type: 'string', format: 'date-time' })
  expiresAt: string;

  /** What the phone's setup wizard scans (Google's provisioning JSON). */
  @ApiProperty({ type: 'string', description: 'What the phone’s setup wizard scans (Google’s provisioning JSON)' })
  qrCode: string;

  /** The code typed by hand or used in the afw#setup flow. */
  @ApiProperty({ type: 'string', description: 'The code typed by hand or used in the afw#setup flow' })
  value: string;

  /** For a personally owned phone (no factory reset): opened on the phone, it sets up the work profile. */
  @ApiProperty({
    type: 'string',
    format: 'uri',
    nullable: true,
    description:
      'For a personally owned phone: opened on the phone (no factory reset), it sets up the work profile. null when the token does not allow personal usage (such a phone could not enroll with it)',
    example: 'https://enterprise.google.com/android/enroll?et=ABCDEFGHIJKLMNOPQRST',
  })
  enrollmentLink: string | null;
}

/** Google's enrollment link for a token value (work profile on a personally owned phone). */
export function enrollmentLinkOf(value: string): string {
  return `https://enterprise.google.com/android/enroll?et=${encodeURIComponent(value)}`;
}
