import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../openapi/same-shape';
import { APP_CATEGORIES, AppCategory, CatalogApp } from '../policies/policy.types';

/** An app of the national catalog: what it is on each platform (request and response of /catalog/apps). */
@ApiSchema({ name: 'CatalogApp', description: 'An app of the national catalog: its identifiers on each platform.' })
export class CatalogAppDto {
  @ApiProperty({ type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', example: 'tchap' })
  slug: string;

  @ApiProperty({ type: 'string', minLength: 1, maxLength: 200, example: 'Tchap' })
  name: string;

  @ApiProperty({ enum: [...APP_CATEGORIES], enumName: 'AppCategory' })
  category: AppCategory;

  @ApiPropertyOptional({ type: 'string', maxLength: 200 })
  publisher?: string;

  @ApiProperty({ type: 'string', isArray: true, description: 'Android package names', example: ['fr.gouv.tchap.a'] })
  android: string[];

  @ApiProperty({ type: 'string', isArray: true, description: 'iOS bundle IDs', example: ['fr.gouv.tchap'] })
  ios: string[];

  @ApiPropertyOptional({
    type: 'string',
    format: 'uri',
    pattern: '^https://',
    description: 'Web app without a store app (Visio): pushed as an AMAPI web app / an iOS web clip',
  })
  web?: string;
}
sameShape<CatalogApp, CatalogAppDto>();
