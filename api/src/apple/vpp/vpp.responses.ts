import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../../openapi/same-shape';
import type { VppAssetView, VppView } from './vpp.service';

@ApiSchema({ name: 'VppAsset', description: 'An app the ministry owns in Apps and Books, with its licence counts.' })
export class VppAssetDto {
  @ApiProperty({ type: 'string', description: "The App Store's identifier (iTunesStoreID)" })
  adamId: string;

  @ApiProperty({ type: 'string', nullable: true, description: 'The app it is, as IT mapped it' })
  bundleId: string | null;

  @ApiProperty({ type: 'string' })
  productType: string;

  @ApiProperty({ type: 'string' })
  pricingParam: string;

  @ApiProperty({ type: 'boolean' })
  deviceAssignable: boolean;

  @ApiProperty({ type: 'integer' })
  totalCount: number;

  @ApiProperty({ type: 'integer' })
  assignedCount: number;

  @ApiProperty({ type: 'integer' })
  availableCount: number;
}
sameShape<VppAssetView, VppAssetDto>();

@ApiSchema({ name: 'Vpp', description: "A ministry's Apps and Books content token and its apps." })
export class VppDto {
  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: 'string', nullable: true })
  locationName: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  orgName: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  expiresAt: Date;

  @ApiProperty({ type: 'integer' })
  daysLeft: number;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Token expiring within 30 days, or apps with no licence left: what to do',
  })
  warning: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  assetsSyncedAt: Date | null;

  @ApiProperty({
    type: 'string',
    enum: ['ok', 'failed'],
    nullable: true,
    description: "The worker's last scheduled refresh of the licence counts (every ABM_SYNC_PERIOD_MINUTES)",
  })
  syncState: 'ok' | 'failed' | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Why the last scheduled refresh failed' })
  syncError: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When the worker refreshes next' })
  nextSyncAt: Date | null;

  @ApiProperty({ type: [VppAssetDto] })
  assets: VppAssetDto[];

  @ApiProperty({ type: 'integer' })
  licencesAssigned: number;
}
sameShape<VppView, VppDto>();
