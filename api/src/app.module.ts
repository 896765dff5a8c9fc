import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module';
import { OidcSettings } from './auth/jwt-verifier.service';
import { CatalogModule } from './catalog/catalog.module';
import { ComplianceModule } from './compliance/compliance.module';
import { AuditSettings } from './audit/audit-keys';
import { CoreModule } from './core.module';
import { dataSourceOptions } from './database/data-source';
import { complianceSettingsFrom, loadConfig } from './config/app-config';
import { DevicesModule } from './devices/devices.module';
import { DirectoryModule } from './directory/directory.module';
import { HealthController } from './health/health.controller';
import { HttpMetricsMiddleware, MetricsController } from './observability/metrics';
import { PoliciesModule } from './policies/policies.module';
import { JobsModule } from './jobs/jobs.module';
import { NotificationsModule } from './notifications/notifications.module';
import { ExemptionsModule } from './exemptions/exemptions.module';
import { WorkerModule } from './worker/worker.module';
import { RolloutModule, RolloutOptions } from './rollout/rollout.module';
import { AndroidModule, AndroidPlatformModule } from './android/android.module';
import { AndroidSettings } from './android/android-settings';
import { AppleModule, ApplePlatformModule } from './apple/apple.module';
import { AppleSettings } from './apple/apple-settings';
import { RateLimitModule } from './security/rate-limit.module';
import { DEFAULT_RATE_LIMIT, RateLimitSettings } from './security/rate-limit-settings';

export interface AppOptions {
  databaseUrl: string;
  /** Connections in this process's pool (DB_POOL_SIZE); default DEFAULT_DB_POOL_SIZE. */
  dbPoolSize?: number;
  oidc: OidcSettings;
  /** Run the job consumers in this process too (`npm start`); `npm run worker` runs them alone. */
  worker: boolean;
  mail: { smtpUrl?: string; mailFrom: string; publicUrl: string };
  rollout: RolloutOptions;
  jobRetryDelaySeconds?: number;
  /** Android Enterprise through the Android Management API; null: not configured. */
  android?: AndroidSettings | null;
  /** The Apple MDM server (check-in, commands, APNs); null: not configured. */
  apple?: AppleSettings | null;
  /** Requests per client and window; default DEFAULT_RATE_LIMIT. */
  rateLimit?: RateLimitSettings;
  /** The audit log's key and checkpoint folder; default: AUDIT_KEY_FILE and AUDIT_CHECKPOINT_DIR from the environment. */
  audit?: AuditSettings;
  /** When a phone without reports becomes stale; default: COMPLIANCE_STALE_DAYS from the environment. */
  compliance?: { staleAfterDays: number };
}

@Module({})
export class AppModule implements NestModule {
  static forRoot(options: AppOptions): DynamicModule {
    if (options.rollout.simulateDevices && (options.android || options.apple))
      throw new Error(
        'Simulated phones (DEVICE_SIMULATOR) cannot run beside a real platform connector: they would be marked as having applied policies they never received.',
      );
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(dataSourceOptions(options.databaseUrl, options.dbPoolSize)),
        TerminusModule,
        CoreModule.forRoot(options.audit),
        DirectoryModule,
        AuthModule.forRoot(options.oidc),
        // After AuthModule: its guard must run first, so that limits apply per verified identity.
        RateLimitModule.forRoot(options.rateLimit ?? DEFAULT_RATE_LIMIT),
        CatalogModule,
        PoliciesModule,
        DevicesModule.forRoot(options.compliance ?? complianceSettingsFrom(loadConfig())),
        JobsModule.forRoot({
          databaseUrl: options.databaseUrl,
          worker: options.worker,
          retryDelaySeconds: options.jobRetryDelaySeconds,
        }),
        NotificationsModule.forRoot(options.mail),
        AndroidPlatformModule.forRoot(options.android ?? null),
        ApplePlatformModule.forRoot(options.apple ?? null),
        RolloutModule.forRoot(options.rollout),
        AndroidModule.forRoot(options.android ?? null),
        AppleModule.forRoot(options.apple ?? null),
        ExemptionsModule,
        ComplianceModule,
        WorkerModule,
      ],
      controllers: [HealthController, MetricsController],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
