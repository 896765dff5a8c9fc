import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import {
  COMPLIANCE_REASON_CODES,
  COMPLIANCE_STATES,
  ComplianceReason,
  ComplianceReasonCode,
} from '../compliance/compliance-evaluator';
import { sameShape, valuesOf } from '../openapi/same-shape';
import type { Compliance, InstalledApp, Ownership, Platform, PushState } from './device.entity';
import type { LockResult, RetireResult, Wipe } from './device-lifecycle.service';
import type { AppleCommandStatus, DeviceCommand, DeviceCommands, DeviceView } from './devices.service';
import type { Delivery } from './fleet-sql';

export const PLATFORM_VALUES = valuesOf<Platform>({ android: true, ios: true });
export const COMPLIANCE_VALUES: Compliance[] = [...COMPLIANCE_STATES];

@ApiSchema({ name: 'InstalledApp', description: 'An app the phone reported as installed.' })
export class InstalledAppDto {
  @ApiProperty({ type: 'string', description: 'Package name or bundle ID' })
  id: string;

  @ApiPropertyOptional({ type: 'string' })
  version?: string;

  @ApiPropertyOptional({ type: 'boolean' })
  managed?: boolean;
}
sameShape<InstalledApp, InstalledAppDto>();

@ApiSchema({ name: 'ComplianceReason', description: 'Why a phone is not compliant, one reason.' })
export class ComplianceReasonDto {
  @ApiProperty({ enum: [...COMPLIANCE_REASON_CODES], enumName: 'ComplianceReasonCode' })
  code: ComplianceReasonCode;

  @ApiPropertyOptional({
    type: 'string',
    description: 'The app concerned (catalog slug), for banned and required apps',
  })
  app?: string;

  @ApiProperty({ type: 'string', description: 'As a person reads it (the same on every platform)' })
  text: string;
}
sameShape<ComplianceReason, ComplianceReasonDto>();

@ApiSchema({
  name: 'Device',
  description: 'An enrolled phone, with the policy it should have and whether it applied it.',
})
export class DeviceDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ enum: PLATFORM_VALUES, enumName: 'Platform' })
  platform: Platform;

  @ApiProperty({ enum: valuesOf<Ownership>({ company: true, personal: true }), enumName: 'Ownership' })
  ownership: Ownership;

  @ApiProperty({
    type: 'string',
    format: 'uuid',
    nullable: true,
    description: 'null for a phone enrolled with a ministry-wide token, until IT gives it to an agent',
  })
  agentId: string | null;

  @ApiProperty({ type: 'string' })
  ministryCode: string;

  @ApiProperty({ type: 'string' })
  displayName: string;

  @ApiProperty({ type: 'string', nullable: true })
  model: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Android Management API name (enterprises/…/devices/…)' })
  androidDeviceName: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  appleUdid: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  enrolledAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastSeenAt: Date | null;

  @ApiProperty({ type: () => InstalledAppDto, isArray: true })
  installedApps: InstalledAppDto[];

  @ApiProperty({ type: 'string', nullable: true, description: 'Its policy group (same ministry and exempted apps)' })
  groupId: string | null;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 9999, description: 'Stable position for staged rollouts' })
  bucket: number;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Shared-policy platforms (Android): the policy it is attached to',
  })
  boundPolicy: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Per-device platforms (Apple): the hash last pushed' })
  pushedHash: string | null;

  @ApiProperty({
    enum: valuesOf<PushState>({ ok: true, retrying: true, failed: true }),
    enumName: 'PushState',
    description: 'Our side of the push: ok (nothing left to send), retrying, failed; see `delivery`',
  })
  pushState: PushState;

  @ApiProperty({ type: 'integer' })
  pushAttempts: number;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastPushAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true })
  pushError: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Hash of the policy the phone reported applied' })
  appliedHash: string | null;

  @ApiProperty({ enum: COMPLIANCE_VALUES, enumName: 'Compliance' })
  compliance: Compliance;

  @ApiProperty({ type: 'string', nullable: true, description: 'Why it is not compliant, for a person' })
  complianceReason: string | null;

  @ApiProperty({ type: () => ComplianceReasonDto, isArray: true, description: 'The same reasons, one by one' })
  complianceReasons: ComplianceReasonDto[];

  @ApiProperty({
    type: 'string',
    isArray: true,
    description: 'Banned apps (catalog slugs) installed at the last report',
  })
  bannedApps: string[];

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When compliance was last evaluated',
  })
  complianceAt: Date | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When the phone last sent a complete report; null: never',
  })
  reportedAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true })
  osVersion: string | null;

  @ApiProperty({ type: 'string', isArray: true, description: 'What the platform reported it could not apply' })
  policyErrors: string[];

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  unenrolledAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Hash of the policy its group should have' })
  desiredHash: string | null;

  @ApiProperty({ type: 'boolean', description: 'The phone applied the desired policy' })
  converged: boolean;

  @ApiProperty({
    enum: valuesOf<Delivery>({ converged: true, waiting: true, retrying: true, failed: true }),
    enumName: 'Delivery',
    description:
      'Where its desired policy is: converged (applied); waiting (sent or already on its policy, the phone has not reported it yet — switched off maybe, see lastSeenAt; never a failure); retrying (the push did not go through, retried with backoff); failed (a real error, in pushError)',
  })
  delivery: Delivery;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description:
      'iPhones: when the device identity it signs with lapses; renewed in place (no re-enrollment) within APPLE_IDENTITY_RENEW_DAYS of that date. null for other phones',
  })
  identityExpiresAt: Date | null;
}
sameShape<DeviceView, DeviceDto>();

@ApiSchema({ name: 'DevicePage', description: 'One page of a ministry’s devices, and how many there are in all.' })
export class DevicePageDto {
  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ type: () => DeviceDto, isArray: true })
  items: DeviceDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next page (keyset on display_name, id); null on the last page',
  })
  nextCursor: string | null;
}

@ApiSchema({ name: 'DeviceRetired', description: 'A phone retired: what was wiped, and how.' })
export class DeviceRetiredDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  deviceId: string;

  @ApiProperty({
    enum: valuesOf<Wipe>({ full: true, 'work-profile': true, none: true }),
    enumName: 'Wipe',
    description:
      'full: a company phone, erased; work-profile: a personal phone, only the work side removed (personal data kept); none: no platform identity to reach',
  })
  wipe: Wipe;

  @ApiProperty({ type: 'string', isArray: true, description: 'Android: the wipeDataFlags sent with devices.delete' })
  wipeDataFlags: string[];
}
sameShape<RetireResult, DeviceRetiredDto>();

@ApiSchema({ name: 'DeviceLocked', description: 'A lock command sent to a phone.' })
export class DeviceLockedDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  deviceId: string;

  @ApiProperty({
    type: 'string',
    description: 'Android: the operation of the LOCK command; Apple: the queued DeviceLock command',
  })
  command: string;
}
sameShape<LockResult, DeviceLockedDto>();

@ApiSchema({ name: 'DeviceCommand', description: 'An Apple MDM command queued for a phone, and its answer.' })
export class DeviceCommandDto {
  @ApiProperty({ type: 'string', description: 'Apple RequestType (InstallProfile, DeviceLock…)' })
  requestType: string;

  @ApiProperty({
    enum: valuesOf<AppleCommandStatus>({
      queued: true,
      sent: true,
      acknowledged: true,
      error: true,
      'not-now': true,
      cancelled: true,
    }),
    enumName: 'AppleCommandStatus',
    description: 'queued, sent and not-now are still to be done by the phone',
  })
  status: AppleCommandStatus;

  @ApiProperty({ type: 'string', format: 'date-time' })
  queuedAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  answeredAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'The error the phone gave (status error)' })
  error: string | null;
}
sameShape<DeviceCommand, DeviceCommandDto>();

@ApiSchema({ name: 'DeviceCommands', description: 'A phone’s latest Apple commands (50 at most), newest first.' })
export class DeviceCommandsDto {
  @ApiProperty({
    type: 'boolean',
    nullable: true,
    description: 'iPhones: supervised, as its last inventory said; null for Android or not known yet',
  })
  supervised: boolean | null;

  @ApiProperty({ type: () => DeviceCommandDto, isArray: true, description: 'Empty for Android phones' })
  items: DeviceCommandDto[];
}
sameShape<DeviceCommands, DeviceCommandsDto>();
