import { plainToInstance, Transform } from 'class-transformer';
import type { AndroidSettings } from '../android/android-settings';
import type { AppleSettings } from '../apple/apple-settings';
import { auditSettingsFor, AuditSettings } from '../audit/audit-keys';
import { DEFAULT_PER_DEVICE, DEFAULT_RATE_LIMIT, RateLimitSettings } from '../security/rate-limit-settings';
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { DEFAULT_DB_POOL_SIZE } from '../database/data-source';
import {
  getMetadataStorage,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  validateSync,
} from 'class-validator';

/** The environment as read, before validation. */
type RawEnv = Record<string, string | undefined>;

/**
 * Demo defaults (demo agents, simulated phones) apply to a local demo only: never with a database
 * of one's own (DATABASE_URL) nor with NODE_ENV=production, so that a deployment that forgets to
 * set them does not seed demo agents nor mark phones "applied" by simulation.
 */
function demoByDefault(env: RawEnv): boolean {
  return !env.DATABASE_URL && env.NODE_ENV !== 'production';
}

/** A real platform connector is configured: Android Enterprise or the Apple MDM server. */
function platformConfigured(env: RawEnv): boolean {
  return Boolean(
    env.GOOGLE_APPLICATION_CREDENTIALS || env.AMAPI_ACCESS_TOKEN || env.APPLE_MDM === 'true' || env.APPLE_MDM === '1',
  );
}

/**
 * Every setting the service reads from its environment, validated once at start-up so a bad
 * `.env` stops the process with a readable message instead of failing on first use.
 */
export class AppConfig {
  /** `production` turns the demo defaults off (DEMO_DATA, DEVICE_SIMULATOR), as DATABASE_URL does. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  @Transform(({ value }) => (value === undefined || value === '' ? 3000 : Number(value)))
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_URL must look like postgres://user:password@host:5432/database',
  })
  DATABASE_URL?: string;

  /** The tables' owner, for migrations (default DATABASE_URL); the service itself runs as DATABASE_ROLE. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_MIGRATION_URL must look like postgres://owner:password@host:5432/database',
  })
  DATABASE_MIGRATION_URL?: string;

  /** The role each service connection switches to: may not edit or delete audit events (see migration AuditGrants). */
  @Transform(({ value }) => value || 'mdm_service')
  @Matches(/^[a-z_][a-z0-9_]*$/, {
    message: 'DATABASE_ROLE must be a PostgreSQL role name (lower case letters, digits, _)',
  })
  DATABASE_ROLE: string;

  /**
   * HTTP processes of `npm start` sharing the port (node:cluster); above 1, the first process runs
   * the worker and start-up tasks and the others answer requests.
   */
  @Transform(({ value }) => (value === undefined || value === '' ? 1 : Number(value)))
  @IsInt({ message: 'API_PROCESSES must be a whole number of processes' })
  @Min(1)
  @Max(64)
  API_PROCESSES: number;

  /** Connections per process (API and worker each keep their own pool). */
  @Transform(({ value }) => (value === undefined || value === '' ? DEFAULT_DB_POOL_SIZE : Number(value)))
  @IsInt()
  @Min(1)
  @Max(1000)
  DB_POOL_SIZE: number;

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
  @IsUrl(
    { require_tld: false, require_protocol: true },
    { message: 'OIDC_ISSUER must be the issuer URL, e.g. https://auth.agentconnect.gouv.fr/api/v2' },
  )
  OIDC_ISSUER?: string;

  @Transform(({ value }) => value || 'mdm-apps-api')
  @IsString()
  OIDC_AUDIENCE: string;

  /** The backend's confidential client at the identity provider, for the admin interface's login. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  OIDC_CLIENT_ID?: string;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  OIDC_CLIENT_SECRET?: string;

  /**
   * How the browser sign-in speaks to the provider: `proconnect` (its authorize parameters only, no
   * PKCE, its scopes, client_secret_post, identity from the signed userinfo JWT) or `standard` (any
   * OpenID Connect provider: PKCE when offered, client_secret_basic, userinfo as JSON or JWT).
   */
  @Transform(({ value }) => value || 'proconnect')
  @IsIn(['proconnect', 'standard'], { message: 'OIDC_PROFILE must be proconnect or standard' })
  OIDC_PROFILE: 'proconnect' | 'standard';

  /** Scopes asked for on top of the profile's (ProConnect: siren, organizational_unit, belonging_population, phone, chorusdt). */
  @Transform(({ value }) =>
    typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : Array.isArray(value) ? value : [],
  )
  @Matches(/^[A-Za-z0-9_:.-]+$/, { each: true, message: 'OIDC_EXTRA_SCOPES must be scope names separated by spaces' })
  OIDC_EXTRA_SCOPES: string[];

  /** The algorithm of the id_token and userinfo JWT, as registered with the provider (ProConnect: RS256 or ES256). */
  @Transform(({ value }) => value || 'RS256')
  @IsIn(['RS256', 'PS256', 'ES256'], { message: 'OIDC_SIGNING_ALG must be RS256, PS256 or ES256' })
  OIDC_SIGNING_ALG: string;

  @Transform(({ value }) => value || 'policies')
  @IsString()
  POLICIES_DIR: string;

  /** Demo agents and phones; default true only for a local demo (see demoByDefault). */
  @Transform(({ value, obj }) =>
    value === undefined || value === '' ? demoByDefault(obj as RawEnv) : value === 'true' || value === '1',
  )
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

  /**
   * Demo: phones are simulated and apply what they are sent. Default true only for a local demo
   * with no platform connector configured; never allowed beside a real one (see loadConfig).
   */
  @Transform(({ value, obj }) =>
    value === undefined || value === ''
      ? demoByDefault(obj as RawEnv) && !platformConfigured(obj as RawEnv)
      : value === 'true' || value === '1',
  )
  @IsBoolean()
  DEVICE_SIMULATOR: boolean;

  /** Android Management API: Google's by default; the fake one (tools/fake-amapi) for demos and tests. */
  @Transform(({ value }) => value || 'https://androidmanagement.googleapis.com/')
  @IsUrl({ require_tld: false, require_protocol: true })
  AMAPI_ROOT_URL: string;

  /** A fixed bearer token for the Android Management API (the fake one); otherwise the service account. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  AMAPI_ACCESS_TOKEN?: string;

  /** Service account key of the EMM's Google Cloud project; setting it turns Android Enterprise on. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  GOOGLE_APPLICATION_CREDENTIALS?: string;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  GOOGLE_CLOUD_PROJECT?: string;

  @Transform(({ value }) => (value === undefined || value === '' ? 1000 : Number(value)))
  @IsInt()
  @Min(1)
  AMAPI_QUOTA_PER_100S: number;

  @Transform(({ value }) => (value === undefined || value === '' ? 30000 : Number(value)))
  @IsInt()
  @Min(100)
  AMAPI_TIMEOUT_MS: number;

  /** The `aud` of Pub/Sub push tokens (the push endpoint as configured on the subscription). */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  PUBSUB_AUDIENCE?: string;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^projects\/[^/]+\/topics\/[^/]+$/, {
    message: 'PUBSUB_TOPIC must look like projects/<project>/topics/<topic>',
  })
  PUBSUB_TOPIC?: string;

  @Transform(({ value }) => value || 'https://www.googleapis.com/oauth2/v3/certs')
  @IsUrl({ require_tld: false, require_protocol: true })
  PUBSUB_JWKS_URL: string;

  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  PUBSUB_SERVICE_ACCOUNT?: string;

  /**
   * How Android status reports arrive: `pull` (workers pull batches from PUBSUB_SUBSCRIPTION: large
   * fleets) or `push` (Google POSTs each to /android/pubsub). Default: pull when PUBSUB_SUBSCRIPTION is set.
   */
  @Transform(({ value, obj }) => value || ((obj as RawEnv).PUBSUB_SUBSCRIPTION ? 'pull' : 'push'))
  @IsIn(['pull', 'push'], { message: 'ANDROID_REPORTS must be pull or push' })
  ANDROID_REPORTS: 'pull' | 'push';

  /** The Pub/Sub subscription workers pull status reports from (ANDROID_REPORTS=pull). */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^projects\/[^/]+\/subscriptions\/[^/]+$/, {
    message: 'PUBSUB_SUBSCRIPTION must look like projects/<project>/subscriptions/<subscription>',
  })
  PUBSUB_SUBSCRIPTION?: string;

  /** The Pub/Sub API: Google's by default; a local fake (tools/fake-pubsub) in tests and demos. */
  @Transform(({ value }) => value || 'https://pubsub.googleapis.com/')
  @IsUrl({ require_tld: false, require_protocol: true })
  PUBSUB_ROOT_URL: string;

  /** Turns the Apple MDM server on (enrollment, check-in, commands, APNs). */
  @Transform(({ value }) => value === 'true' || value === '1')
  @IsBoolean()
  APPLE_MDM: boolean;

  /** Public base URL the iPhones reach (ServerURL/CheckInURL); default PUBLIC_URL. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  MDM_SERVER_URL?: string;

  @Transform(({ value }) => value || 'api.push.apple.com')
  @IsString()
  APNS_HOST: string;

  @Transform(({ value }) => (value === undefined || value === '' ? 443 : Number(value)))
  @IsInt()
  @Min(1)
  @Max(65535)
  APNS_PORT: number;

  /** How long an APNs request may take before it is retried (with backoff). */
  @Transform(({ value }) => (value === undefined || value === '' ? 5000 : Number(value)))
  @IsInt()
  @Min(100)
  APNS_TIMEOUT_MS: number;

  /** Extra CA for the APNs connection (a local APNs peer); path to a PEM file. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  APNS_CA_FILE?: string;

  @Transform(({ value }) => value || 'signature')
  @IsIn(['signature', 'proxy-header'])
  MDM_IDENTITY_FROM: 'signature' | 'proxy-header';

  @Transform(({ value }) => value || 'X-Client-Certificate')
  @IsString()
  MDM_PROXY_CERT_HEADER: string;

  /** Device identities each API process keeps ready for enrollment profiles (0: issued per download). */
  @Transform(({ value }) => (value === undefined || value === '' ? 50 : Number(value)))
  @IsInt({ message: 'APPLE_IDENTITY_POOL must be a whole number of identities' })
  @Min(0)
  @Max(100_000)
  APPLE_IDENTITY_POOL: number;

  /** Answered Apple MDM commands are deleted after this many days (the audit log keeps what was decided). */
  @Transform(({ value }) => (value === undefined || value === '' ? 30 : Number(value)))
  @IsInt({ message: 'APPLE_COMMAND_RETENTION_DAYS must be a whole number of days' })
  @Min(1)
  @Max(3650)
  APPLE_COMMAND_RETENTION_DAYS: number;

  /** Every iPhone is inventoried once in this many hours, a share of the fleet every minute. */
  @Transform(({ value }) => (value === undefined || value === '' ? 24 : Number(value)))
  @IsInt({ message: 'APPLE_INVENTORY_PERIOD_HOURS must be a whole number of hours' })
  @Min(1)
  @Max(720)
  APPLE_INVENTORY_PERIOD_HOURS: number;

  /** Device identities are renewed (in place, no re-enrollment) this many days before they lapse. */
  @Transform(({ value }) => (value === undefined || value === '' ? 60 : Number(value)))
  @IsInt({ message: 'APPLE_IDENTITY_RENEW_DAYS must be a whole number of days' })
  @Min(7, {
    message:
      'APPLE_IDENTITY_RENEW_DAYS must be at least 7 days: a phone switched off for a week must still be renewed in time',
  })
  @Max(365, { message: 'APPLE_IDENTITY_RENEW_DAYS must be at most 365 days: identities are valid two years' })
  APPLE_IDENTITY_RENEW_DAYS: number;

  /** How enrollment profiles give iPhones their identity: a PKCS#12 made here, or SCEP (the key made on the phone). */
  @Transform(({ value }) => value || 'pkcs12')
  @IsIn(['pkcs12', 'scep'], { message: 'APPLE_IDENTITY_DELIVERY must be pkcs12 or scep' })
  APPLE_IDENTITY_DELIVERY: 'pkcs12' | 'scep';

  /** The certificate (PEM, then its chain) that signs enrollment profiles: the public host's TLS certificate. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  APPLE_PROFILE_SIGNING_CERT_FILE?: string;

  /** The private key (PEM) of APPLE_PROFILE_SIGNING_CERT_FILE. */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  APPLE_PROFILE_SIGNING_KEY_FILE?: string;

  /** Apple Business Manager's device assignment API (Automated Device Enrollment). */
  @Transform(({ value }) => value || 'https://mdmenrollment.apple.com')
  @IsUrl({ require_tld: false, require_protocol: true })
  ABM_URL: string;

  /** Apple's Apps and Books API (licences of store apps). */
  @Transform(({ value }) => value || 'https://vpp.itunes.apple.com')
  @IsUrl({ require_tld: false, require_protocol: true })
  APPS_BOOKS_URL: string;

  /**
   * The trust anchors (PEM file, one or more certificates) the signer of an ABM iPhone's machine
   * information must chain to. Default: Apple's roots bundled with the service (Apple Root CA,
   * which issues the Apple iPhone Device CA); tests give the simulator's own device CA.
   */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  ADE_DEVICE_CA_FILE?: string;

  /**
   * Every this many minutes the worker syncs each connected ministry with Apple Business Manager
   * (device changes since the cursor, profile assignment of new devices) and refreshes its Apps and
   * Books licence counts; after an error, the next try waits twice as long (at most a day).
   */
  @Transform(({ value }) => (value === undefined || value === '' ? 60 : Number(value)))
  @IsInt({ message: 'ABM_SYNC_PERIOD_MINUTES must be a whole number of minutes' })
  @Min(1)
  @Max(1440)
  ABM_SYNC_PERIOD_MINUTES: number;

  /** A phone with no report (Android status report, iPhone inventory) for more than this many days is "stale". */
  @Transform(({ value }) => (value === undefined || value === '' ? 7 : Number(value)))
  @IsInt({ message: 'COMPLIANCE_STALE_DAYS must be a whole number of days' })
  @Min(1)
  @Max(365)
  COMPLIANCE_STALE_DAYS: number;

  /** Largest JSON body accepted, in bytes; bigger ones get a 413. */
  @Transform(({ value }) => (value === undefined || value === '' ? 1_000_000 : Number(value)))
  @IsInt()
  @Min(1024)
  BODY_LIMIT_BYTES: number;

  /**
   * Rate limits, shared by every replica (counters live in PostgreSQL): a signed-in person may make
   * RATE_LIMIT_PER_USER requests per RATE_LIMIT_WINDOW_SECONDS (sliding window), whatever network
   * they come from; requests without a signed-in identity get RATE_LIMIT_PER_IP per client address.
   * Defaults: DEFAULT_RATE_LIMIT (600 and 300 per 60 s). Apple MDM messages are counted per device
   * identity (RATE_LIMIT_PER_DEVICE); Pub/Sub pushes, /health and /metrics are not limited here (see
   * api/src/security/rate-limit.module.ts).
   */
  @Transform(({ value }) => (value === undefined || value === '' ? DEFAULT_RATE_LIMIT.windowSeconds : Number(value)))
  @IsInt()
  @Min(1)
  RATE_LIMIT_WINDOW_SECONDS: number;

  @Transform(({ value }) => (value === undefined || value === '' ? DEFAULT_RATE_LIMIT.perUser : Number(value)))
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_USER: number;

  @Transform(({ value }) => (value === undefined || value === '' ? DEFAULT_RATE_LIMIT.perIp : Number(value)))
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_IP: number;

  /** Apple MDM messages (check-in and command channel) per window for one device identity. */
  @Transform(({ value }) => (value === undefined || value === '' ? DEFAULT_PER_DEVICE : Number(value)))
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_DEVICE: number;

  /**
   * The audit log's key: a file of at least 32 random bytes (hex, base64 or raw), kept outside the
   * database, the same for every replica. Default on the embedded PostgreSQL: generated once into
   * `.data/audit.key` (mode 600); required with DATABASE_URL or NODE_ENV=production.
   */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  AUDIT_KEY_FILE?: string;

  /**
   * Where signed checkpoints of the audit chain are appended (one file per database), outside the
   * database. Default on the embedded PostgreSQL: `.data/audit-checkpoints`; required with
   * DATABASE_URL or NODE_ENV=production.
   */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @IsString()
  AUDIT_CHECKPOINT_DIR?: string;

  /**
   * The reverse proxies in front of the service, whose X-Forwarded-For is believed: a number of
   * hops ("1") or addresses/subnets ("10.0.0.0/8, loopback"). Unset: the TCP peer is the client.
   * "true" is refused: it would let any client pick its own address and so its own rate limit.
   */
  @Transform(({ value }) => value || undefined)
  @IsOptional()
  @Matches(/^(\d+|((loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d+)?)\s*(,\s*|$))+)$/, {
    message:
      'TRUST_PROXY must be a number of proxy hops ("1") or the proxies\' addresses/subnets ("10.0.0.0/8, loopback"), not "true"',
  })
  TRUST_PROXY?: string;
}

/** The settings' names, read from the class's own validation metadata: the class is the one list. */
function configKeys(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(AppConfig, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Every known key is present (possibly undefined) so that each @Transform applies its default.
  const plain = Object.fromEntries(configKeys().map((key) => [key, env[key]]));
  const config = plainToInstance(AppConfig, plain);
  const errors = validateSync(config, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `  - ${e.property}: ${m}`));
    throw new ConfigError(`Invalid configuration (environment variables):\n${lines.join('\n')}`);
  }
  if (config.DEVICE_SIMULATOR && platformConfigured(plain)) {
    const connectors = [
      ...(config.GOOGLE_APPLICATION_CREDENTIALS || config.AMAPI_ACCESS_TOKEN ? ['Android Enterprise'] : []),
      ...(config.APPLE_MDM ? ['the Apple MDM server'] : []),
    ];
    throw new ConfigError(
      `DEVICE_SIMULATOR=true would simulate phones beside a real platform connector (${connectors.join(' and ')}): simulated phones would be marked as having applied policies they never received. Remove DEVICE_SIMULATOR (it is for demos without any connector).`,
    );
  }
  const android = Boolean(config.GOOGLE_APPLICATION_CREDENTIALS || config.AMAPI_ACCESS_TOKEN);
  if (android && config.ANDROID_REPORTS === 'pull' && !config.PUBSUB_SUBSCRIPTION)
    throw new ConfigError(
      'ANDROID_REPORTS=pull needs PUBSUB_SUBSCRIPTION (projects/<project>/subscriptions/<subscription>), the subscription the workers pull status reports from.',
    );
  // An open push endpoint would let any Google-signed token, for any audience, rewrite a phone's state.
  if (android && config.ANDROID_REPORTS === 'push' && (!config.PUBSUB_SERVICE_ACCOUNT || !config.PUBSUB_AUDIENCE))
    throw new ConfigError(
      "Android Enterprise receives status reports by Pub/Sub push only with PUBSUB_SERVICE_ACCOUNT and PUBSUB_AUDIENCE set (the push subscription's service account and audience), or set PUBSUB_SUBSCRIPTION to pull them instead.",
    );
  const https = mdmHttpsProblem(config);
  if (https) throw new ConfigError(https);
  const anchors = deviceCaProblem(config.ADE_DEVICE_CA_FILE);
  if (anchors) throw new ConfigError(anchors);
  profileSigningFrom(config);
  return config;
}

/** The public base URL the MDM payload, the check-in URLs and the ADE profile `url` are built from. */
function mdmBaseUrl(config: AppConfig): string {
  return (config.MDM_SERVER_URL ?? config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/$/, '');
}

/**
 * In production an iPhone must reach the MDM server over https: Apple refuses an ADE profile whose
 * `url` is not https, and an http ServerURL would carry every command and answer in clear.
 */
function mdmHttpsProblem(config: AppConfig): string | null {
  if (config.NODE_ENV !== 'production' || !config.APPLE_MDM) return null;
  const base = config.MDM_SERVER_URL ?? config.PUBLIC_URL;
  if (!base)
    return 'In production (NODE_ENV=production) the Apple MDM server needs MDM_SERVER_URL (or PUBLIC_URL): the https:// address iPhones reach it at, e.g. https://mdm.interieur.gouv.fr.';
  if (!/^https:\/\//i.test(base))
    return `In production (NODE_ENV=production) iPhones must reach the Apple MDM server over https: ${config.MDM_SERVER_URL ? 'MDM_SERVER_URL' : 'PUBLIC_URL'} is ${base}. Set MDM_SERVER_URL to its https:// address (behind the TLS proxy).`;
  return null;
}

/** ADE_DEVICE_CA_FILE must hold the PEM certificate(s) ADE machine information is checked against. */
function deviceCaProblem(file: string | undefined): string | null {
  if (!file) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return `ADE_DEVICE_CA_FILE cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give the path of a PEM file of the device CA certificate(s), or remove it to trust Apple's.`;
  }
  return /-----BEGIN CERTIFICATE-----/.test(text)
    ? null
    : `ADE_DEVICE_CA_FILE (${file}) holds no PEM certificate: it must contain the device CA certificate(s) ("-----BEGIN CERTIFICATE-----"), or remove it to trust Apple's.`;
}

/** Android Enterprise is on when a service account key (or a fixed token, for the fake API) is configured. */
export function androidSettingsFrom(config: AppConfig): AndroidSettings | null {
  if (!config.GOOGLE_APPLICATION_CREDENTIALS && !config.AMAPI_ACCESS_TOKEN) return null;
  return {
    rootUrl: config.AMAPI_ROOT_URL,
    accessToken: config.AMAPI_ACCESS_TOKEN,
    credentialsFile: config.GOOGLE_APPLICATION_CREDENTIALS,
    projectId: config.GOOGLE_CLOUD_PROJECT,
    quotaPer100s: config.AMAPI_QUOTA_PER_100S,
    timeoutMs: config.AMAPI_TIMEOUT_MS,
    reports: config.ANDROID_REPORTS,
    pubsub: {
      subscription: config.PUBSUB_SUBSCRIPTION,
      rootUrl: config.PUBSUB_ROOT_URL,
      topic: config.PUBSUB_TOPIC,
      audience: config.PUBSUB_AUDIENCE,
      jwksUrl: config.PUBSUB_JWKS_URL,
      serviceAccountEmail: config.PUBSUB_SERVICE_ACCOUNT,
    },
  };
}

/**
 * The enrollment profiles' signer from APPLE_PROFILE_SIGNING_CERT_FILE and _KEY_FILE (both or
 * neither), checked at start-up: readable, a certificate first, the key its own.
 */
function profileSigningFrom(config: AppConfig): { certPem: string; keyPem: string } | undefined {
  const certFile = config.APPLE_PROFILE_SIGNING_CERT_FILE;
  const keyFile = config.APPLE_PROFILE_SIGNING_KEY_FILE;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new ConfigError(
      'APPLE_PROFILE_SIGNING_CERT_FILE and APPLE_PROFILE_SIGNING_KEY_FILE go together: the certificate that signs enrollment profiles and its private key.',
    );
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(certFile, 'utf8');
    keyPem = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new ConfigError(`The profile signing certificate or key cannot be read: ${(error as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch (error) {
    throw new ConfigError(
      `APPLE_PROFILE_SIGNING_CERT_FILE must be a PEM certificate (then its chain) and APPLE_PROFILE_SIGNING_KEY_FILE its PEM private key: ${(error as Error).message}`,
    );
  }
  if (!matches)
    throw new ConfigError(
      'APPLE_PROFILE_SIGNING_KEY_FILE is not the private key of the first certificate in APPLE_PROFILE_SIGNING_CERT_FILE.',
    );
  return { certPem, keyPem };
}

/** The Apple MDM server is on when APPLE_MDM=true. */
export function appleSettingsFrom(config: AppConfig): AppleSettings | null {
  if (!config.APPLE_MDM) return null;
  return {
    serverBaseUrl: mdmBaseUrl(config),
    production: config.NODE_ENV === 'production',
    apnsHost: config.APNS_HOST,
    apnsPort: config.APNS_PORT,
    apnsTimeoutMs: config.APNS_TIMEOUT_MS,
    apnsCaPem: config.APNS_CA_FILE ? readFileSync(config.APNS_CA_FILE, 'utf8') : undefined,
    identityFrom: config.MDM_IDENTITY_FROM,
    proxyCertHeader: config.MDM_PROXY_CERT_HEADER,
    identityPool: config.APPLE_IDENTITY_POOL,
    commandRetentionDays: config.APPLE_COMMAND_RETENTION_DAYS,
    inventoryPeriodHours: config.APPLE_INVENTORY_PERIOD_HOURS,
    identityDelivery: config.APPLE_IDENTITY_DELIVERY,
    profileSigning: profileSigningFrom(config),
    identityRenewDays: config.APPLE_IDENTITY_RENEW_DAYS,
    abmUrl: config.ABM_URL.replace(/\/$/, ''),
    appsBooksUrl: config.APPS_BOOKS_URL.replace(/\/$/, ''),
    deviceCaPem: config.ADE_DEVICE_CA_FILE ? readFileSync(config.ADE_DEVICE_CA_FILE, 'utf8') : undefined,
    syncPeriodMinutes: config.ABM_SYNC_PERIOD_MINUTES,
  };
}

/** The rate limits and proxy trust the HTTP layer applies. */
export function httpSecurityFrom(config: AppConfig): { rateLimit: RateLimitSettings; trustProxy?: string | number } {
  return {
    rateLimit: {
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
      perUser: config.RATE_LIMIT_PER_USER,
      perIp: config.RATE_LIMIT_PER_IP,
      perDevice: config.RATE_LIMIT_PER_DEVICE,
    },
    trustProxy:
      config.TRUST_PROXY === undefined
        ? undefined
        : /^\d+$/.test(config.TRUST_PROXY)
          ? Number(config.TRUST_PROXY)
          : config.TRUST_PROXY,
  };
}

/** Compliance: when a phone without reports becomes stale. */
export function complianceSettingsFrom(config: AppConfig): { staleAfterDays: number } {
  return { staleAfterDays: config.COMPLIANCE_STALE_DAYS };
}

/** The audit log's key and checkpoint folder (see AUDIT_KEY_FILE, AUDIT_CHECKPOINT_DIR). */
export function auditSettingsFrom(config: AppConfig): AuditSettings {
  return auditSettingsFor(config);
}
