import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../openapi/same-shape';
import type { AndroidEnterprise } from './android-enterprise.entity';
import type { AndroidEnterpriseService } from './android-enterprise.service';
import type { ReconcileSummary } from './android-reconcile.service';
import type { PubsubPush } from './android-reports.service';

@ApiSchema({ name: 'AndroidEnterprise', description: 'The Android Enterprise a ministry’s phones belong to.' })
export class AndroidEnterpriseDto {
  @ApiProperty({ type: 'string' })
  ministryCode: string;

  @ApiProperty({ type: 'string', example: 'enterprises/LC0123abcd' })
  enterpriseName: string;

  @ApiProperty({ type: 'string', nullable: true })
  displayName: string | null;

  @ApiProperty({ type: 'string' })
  createdBy: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;
}
sameShape<AndroidEnterprise, AndroidEnterpriseDto>();

@ApiSchema({ name: 'AndroidSignup', description: 'Google’s enterprise signup URL for the ministry’s administrator.' })
export class AndroidSignupDto {
  @ApiProperty({ type: 'string', format: 'uri' })
  url: string;

  @ApiProperty({ type: 'string', description: 'Google’s name of the signup URL' })
  name: string;
}
sameShape<Awaited<ReturnType<AndroidEnterpriseService['startSignup']>>, AndroidSignupDto>();

@ApiSchema({
  name: 'ReconcileSummary',
  description: 'What a comparison of Google’s devices with ours found and repaired.',
})
export class ReconcileSummaryDto {
  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: 'integer' })
  checked: number;

  @ApiProperty({ type: 'integer', description: 'Phones on the wrong policy, patched back' })
  repaired: number;

  @ApiProperty({ type: 'integer', description: 'Phones deleted on Google’s side, marked unenrolled' })
  removed: number;

  @ApiProperty({ type: 'integer', description: 'Phones Google knows and we do not' })
  unknown: number;
}
sameShape<ReconcileSummary, ReconcileSummaryDto>();

@ApiSchema({ name: 'PubsubMessage' })
export class PubsubMessageDto {
  @ApiPropertyOptional({ type: 'string', format: 'byte', description: 'Base64 JSON: an Android Management API Device' })
  data?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'notificationType: ENROLLMENT or STATUS_REPORT',
  })
  attributes?: Record<string, string>;

  @ApiPropertyOptional({ type: 'string' })
  messageId?: string;
}

@ApiSchema({ name: 'PubsubPush', description: 'A Google Pub/Sub push message.' })
export class PubsubPushDto {
  @ApiPropertyOptional({ type: () => PubsubMessageDto })
  message?: PubsubMessageDto;

  @ApiPropertyOptional({ type: 'string' })
  subscription?: string;
}
sameShape<PubsubPush, PubsubPushDto>();
