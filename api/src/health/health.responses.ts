import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

/** What each indicator (here: `database`) reports: its status, with particulars such as an error message. */
function indicators(description: string, nullable: boolean) {
  return {
    type: 'object' as const,
    additionalProperties: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['up', 'degraded', 'down'] } },
      additionalProperties: true,
    },
    example: { database: { status: 'up' } },
    nullable,
    description,
  };
}

/** Terminus's HealthCheckResult, as GET /health answers when every indicator is up. */
@ApiSchema({ name: 'HealthCheck', description: 'Every indicator (the database) and its status.' })
export class HealthCheckDto {
  @ApiProperty({ type: 'string', enum: ['ok', 'degraded', 'error', 'shutting_down'], example: 'ok' })
  status: string;

  @ApiPropertyOptional(indicators('Indicators that are up', true))
  info?: object | null;

  @ApiPropertyOptional(indicators('Indicators that are down', true))
  error?: object | null;

  @ApiProperty(indicators('Every indicator', false))
  details: object;
}
