import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DirectoryModule } from '../directory/directory.module';
import { AuthGuard } from './auth.guard';
import { JwtVerifierService, OIDC_SETTINGS, OidcSettings } from './jwt-verifier.service';
import { OidcLoginService } from './oidc-login.service';
import { SessionController } from './session.controller';

@Module({})
export class AuthModule {
  static forRoot(settings: OidcSettings): DynamicModule {
    return {
      module: AuthModule,
      imports: [DirectoryModule],
      controllers: [SessionController],
      providers: [
        { provide: OIDC_SETTINGS, useValue: settings },
        { provide: JwtVerifierService, useFactory: () => new JwtVerifierService(settings) },
        OidcLoginService,
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [JwtVerifierService],
    };
  }
}
