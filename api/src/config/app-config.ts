import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';

/**
 * Every setting the service reads from its environment, validated once at start-up so a bad
 * `.env` stops the process with a readable message instead of failing on first use.
 */
export class AppConfig {
  @Transform(({ value }) => (value === undefined || value === '' ? 3000 : Number(value)))
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must look like postgres://user:password@host:5432/database' })
  DATABASE_URL?: string;

  @Transform(({ value }) => value || '.data/pg')
  @IsString()
  EMBEDDED_PG_DIR: string;

  @Transform(({ value }) => (value === undefined || value === '' ? 54329 : Number(value)))
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_PG_PORT: number;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'OIDC_ISSUER must be the issuer URL, e.g. https://auth.agentconnect.gouv.fr/api/v2' })
  OIDC_ISSUER?: string;

  @Transform(({ value }) => value || 'mdm-apps-api')
  @IsString()
  OIDC_AUDIENCE: string;

  @Transform(({ value }) => value || 'policies')
  @IsString()
  POLICIES_DIR: string;

  @Transform(({ value }) => value === undefined || value === '' ? true : value === 'true' || value === '1')
  @IsBoolean()
  DEMO_DATA: boolean;

  @Transform(({ value }) => value || 'info')
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^smtps?:\/\/.+/, { message: 'SMTP_URL must look like smtp://user:password@host:587' })
  SMTP_URL?: string;

  @Transform(({ value }) => value || 'Politique applicative <ne-pas-repondre@numerique.gouv.fr>')
  @IsString()
  MAIL_FROM: string;

  /** Address of the admin interface as agents reach it, for links in emails. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  PUBLIC_URL?: string;

  /** Demo: phones are simulated and apply what they are sent. Off in production. */
  @Transform(({ value }) => (value === undefined || value === '' ? true : value === 'true' || value === '1'))
  @IsBoolean()
  DEVICE_SIMULATOR: boolean;

  /** Largest JSON body accepted, in bytes; bigger ones get a 413. */
  @Transform(({ value }) => (value === undefined || value === '' ? 1_000_000 : Number(value)))
  @IsInt()
  @Min(1024)
  BODY_LIMIT_BYTES: number;
}

const CONFIG_KEYS = ['PORT', 'DATABASE_URL', 'EMBEDDED_PG_DIR', 'EMBEDDED_PG_PORT', 'OIDC_ISSUER', 'OIDC_AUDIENCE', 'POLICIES_DIR', 'DEMO_DATA', 'LOG_LEVEL', 'BODY_LIMIT_BYTES', 'SMTP_URL', 'MAIL_FROM', 'PUBLIC_URL', 'DEVICE_SIMULATOR'] as const;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Every known key is present (possibly undefined) so that each @Transform applies its default.
  const plain = Object.fromEntries(CONFIG_KEYS.map((key) => [key, env[key]]));
  const config = plainToInstance(AppConfig, plain);
  const errors = validateSync(config, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `  - ${e.property}: ${m}`));
    throw new ConfigError(`Invalid configuration (environment variables):\n${lines.join('\n')}`);
  }
  return config;
}
