import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DirectoryModule } from '../directory/directory.module';
import { AuthGuard } from './auth.guard';
import { JwtVerifierService, OidcSettings } from './jwt-verifier.service';

@Module({})
export class AuthModule {
  static forRoot(settings: OidcSettings): DynamicModule {
    return {
      module: AuthModule,
      imports: [DirectoryModule],
      providers: [{ provide: JwtVerifierService, useFactory: () => new JwtVerifierService(settings) }, { provide: APP_GUARD, useClass: AuthGuard }],
      exports: [JwtVerifierService],
    };
  }
}
