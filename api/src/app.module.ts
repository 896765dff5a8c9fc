import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module';
import { OidcSettings } from './auth/jwt-verifier.service';
import { CatalogModule } from './catalog/catalog.module';
import { CoreModule } from './core.module';
import { dataSourceOptions } from './database/data-source';
import { DevicesModule } from './devices/devices.module';
import { DirectoryModule } from './directory/directory.module';
import { HealthController } from './health/health.controller';
import { HttpMetricsMiddleware, MetricsController } from './observability/metrics';
import { PoliciesModule } from './policies/policies.module';

export interface AppOptions {
  databaseUrl: string;
  oidc: OidcSettings;
}

@Module({})
export class AppModule implements NestModule {
  static forRoot(options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(dataSourceOptions(options.databaseUrl)),
        TerminusModule,
        CoreModule,
        DirectoryModule,
        AuthModule.forRoot(options.oidc),
        CatalogModule,
        PoliciesModule,
        DevicesModule,
      ],
      controllers: [HealthController, MetricsController],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
