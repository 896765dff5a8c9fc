import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** PostgreSQL's integer: a larger number in a query parameter would fail the query instead of finding nothing. */
export const PG_INT_MAX = 2_147_483_647;

/** `?limit=&offset=` on every list endpoint; subclasses add their filters. */
export class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(PG_INT_MAX)
  offset?: number;
}
