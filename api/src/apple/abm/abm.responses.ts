import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../../openapi/same-shape';
import type { AbmDeviceView, AbmServerView, AbmSyncResult } from './abm.service';

@ApiSchema({
  name: 'AbmServer',
  description: "A ministry's MDM server in Apple Business Manager: certificate, server token, enrollment profile.",
})
export class AbmServerDto {
  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  certificateCreatedAt: Date;

  @ApiProperty({
    type: 'string',
    description: 'The certificate (PEM) to upload in ABM: Preferences → your MDM server → Upload public key',
  })
  certificatePem: string;

  @ApiProperty({ type: 'boolean' })
  tokenImported: boolean;

  @ApiProperty({ type: 'string', nullable: true })
  serverName: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  orgName: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  tokenExpiry: Date | null;

  @ApiProperty({ type: 'integer', nullable: true })
  daysLeft: number | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Set 30 days before the token expires: what to do' })
  warning: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'The enrollment profile ABM holds for the ministry' })
  profileUuid: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'The last sync that went through' })
  lastSyncAt: Date | null;

  @ApiProperty({
    type: 'string',
    enum: ['ok', 'failed'],
    nullable: true,
    description: "The worker's last scheduled sync (every ABM_SYNC_PERIOD_MINUTES); null before the first",
  })
  syncState: 'ok' | 'failed' | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Why the last scheduled sync failed' })
  syncError: string | null;

  @ApiProperty({
    type: 'integer',
    description: 'Scheduled syncs failed in a row; each next try waits twice as long (at most a day)',
  })
  syncFailures: number;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When the worker syncs next' })
  nextSyncAt: Date | null;

  @ApiProperty({ type: 'integer', description: 'ABM devices assigned to this MDM server' })
  devices: number;

  @ApiProperty({ type: 'integer', description: 'Of which with the enrollment profile assigned' })
  profileAssigned: number;
}
sameShape<AbmServerView, AbmServerDto>();

@ApiSchema({ name: 'AbmDevice', description: 'An iPhone of the ministry in Apple Business Manager, booted or not.' })
export class AbmDeviceDto {
  @ApiProperty({ type: 'string' })
  serialNumber: string;

  @ApiProperty({ type: 'string', nullable: true })
  model: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  description: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  color: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: "ABM's profile_status: empty, assigned, pushed, removed",
  })
  profileStatus: string | null;

  @ApiProperty({ type: 'boolean', description: "The ministry's enrollment profile is the one assigned" })
  profileAssigned: boolean;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  profileAssignedAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'SUCCESS, NOT_ACCESSIBLE or FAILED' })
  assignResult: string | null;

  @ApiProperty({ type: 'boolean', description: 'Booted and enrolled with this MDM server' })
  enrolled: boolean;

  @ApiProperty({ type: 'string', format: 'date-time' })
  syncedAt: Date;
}
sameShape<AbmDeviceView, AbmDeviceDto>();

@ApiSchema({ name: 'AbmDevicePage', description: "A page of the ministry's ABM devices." })
export class AbmDevicePageDto {
  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ type: [AbmDeviceDto] })
  devices: AbmDeviceDto[];
}

@ApiSchema({ name: 'AbmSyncResult', description: 'What a sync with Apple Business Manager did.' })
export class AbmSyncResultDto {
  @ApiProperty({ type: 'integer' })
  devicesRead: number;

  @ApiProperty({ type: 'integer' })
  removed: number;

  @ApiProperty({ type: 'integer' })
  assigned: number;

  @ApiProperty({ type: 'integer', description: 'Devices ABM did not let this server assign (NOT_ACCESSIBLE…)' })
  notAssigned: number;

  @ApiProperty({ type: 'string' })
  profileUuid: string;
}
sameShape<AbmSyncResult, AbmSyncResultDto>();
