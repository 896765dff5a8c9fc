import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ExemptionView } from './exemption-view';

@ApiSchema({ name: 'ExemptionPage', description: 'One page of a queue, and how many requests match in all.' })
export class ExemptionPageDto {
  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ type: () => ExemptionView, isArray: true })
  items: ExemptionView[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next page (keyset on requested_at, id); null on the last page',
  })
  nextCursor: string | null;
}
