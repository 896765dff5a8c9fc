import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { sameShape, valuesOf } from '../openapi/same-shape';
import type { AndroidEnterprise } from './android-enterprise.entity';
import type {
  AndroidEnterpriseService,
  AndroidHealth,
  AndroidHealthProblem,
  AndroidHealthProblemCode,
} from './android-enterprise.service';
import type { ReconcileSummary, UnknownAndroidDevice } from './android-reconcile.service';
import type { PubsubPush } from './android-reports.service';

@ApiSchema({ name: 'AndroidEnterprise', description: 'The Android Enterprise a ministry’s phones belong to.' })
export class AndroidEnterpriseDto {
  @ApiProperty({ type: 'string' })
  ministryCode: string;

  @ApiProperty({ type: 'string', example: 'enterprises/LC0123abcd' })
  enterpriseName: string;

  @ApiProperty({ type: 'string', nullable: true })
  displayName: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'The Pub/Sub topic Google had on the enterprise once bound; null: Google sends no notification',
  })
  pubsubTopic: string | null;

  @ApiProperty({ type: 'string', isArray: true, example: ['ENROLLMENT', 'STATUS_REPORT'] })
  notificationTypes: string[];

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

  @ApiProperty({
    type: 'integer',
    description: 'Phones enrolled with one of our tokens but never seen (no notification): adopted',
  })
  adopted: number;

  @ApiProperty({ type: 'integer', description: 'Phones Google knows and we do not (listed for IT)' })
  unknown: number;
}
sameShape<ReconcileSummary, ReconcileSummaryDto>();

const HEALTH_PROBLEM_CODES = valuesOf<AndroidHealthProblemCode>({
  'no-enterprise': true,
  'no-topic-configured': true,
  'no-topic': true,
  'other-topic': true,
  'notification-types-missing': true,
  'unpublished-policies': true,
  'unknown-devices': true,
  'google-unreachable': true,
});

@ApiSchema({ name: 'AndroidHealthProblem', description: 'One thing missing from a ministry’s Android set-up.' })
export class AndroidHealthProblemDto {
  @ApiProperty({ enum: HEALTH_PROBLEM_CODES, enumName: 'AndroidHealthProblemCode' })
  code: AndroidHealthProblemCode;

  @ApiProperty({ type: 'string', description: 'What is missing and what to do, in a sentence' })
  message: string;
}
sameShape<AndroidHealthProblem, AndroidHealthProblemDto>();

@ApiSchema({ name: 'AndroidUnpublishedPolicy' })
export class AndroidUnpublishedPolicyDto {
  @ApiProperty({ type: 'string', description: 'Policy (group) id' })
  policy: string;

  @ApiProperty({ type: 'string', nullable: true, description: 'Google’s refusal, when it refused' })
  error: string | null;
}

@ApiSchema({ name: 'AndroidHealth', description: 'What a ministry’s Android set-up lacks, as Google has it now.' })
export class AndroidHealthDto {
  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: 'boolean', description: 'Nothing is missing' })
  ok: boolean;

  @ApiProperty({ type: 'string', nullable: true })
  enterpriseName: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'PUBSUB_TOPIC' })
  configuredTopic: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'The enterprise’s topic on Google’s side' })
  pubsubTopic: string | null;

  @ApiProperty({ type: 'string', isArray: true })
  enabledNotificationTypes: string[];

  @ApiProperty({ type: () => AndroidUnpublishedPolicyDto, isArray: true })
  unpublishedPolicies: AndroidUnpublishedPolicyDto[];

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastReportAt: Date | null;

  @ApiProperty({ type: 'integer' })
  unknownDevices: number;

  @ApiProperty({ type: () => AndroidHealthProblemDto, isArray: true })
  problems: AndroidHealthProblemDto[];
}
sameShape<AndroidHealth, AndroidHealthDto>();

@ApiSchema({
  name: 'UnknownAndroidDevice',
  description:
    'A phone Google lists in the ministry’s enterprise that was not enrolled with one of this service’s tokens.',
})
export class UnknownAndroidDeviceDto {
  @ApiProperty({ type: 'string', example: 'enterprises/LC0123abcd/devices/3a5f…' })
  name: string;

  @ApiProperty({ type: 'string', nullable: true })
  enrollmentTokenName: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  model: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  serialNumber: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'COMPANY_OWNED' })
  ownership: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  enrolledAt: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  firstSeenAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time' })
  lastSeenAt: Date;
}
sameShape<UnknownAndroidDevice, UnknownAndroidDeviceDto>();

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
