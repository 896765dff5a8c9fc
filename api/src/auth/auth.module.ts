import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConfigError, loadConfig } from '../config/app-config';
import { DirectoryModule } from '../directory/directory.module';
import { AccountsController } from './accounts.controller';
import { ApiTokenService } from './api-token.service';
import { ApiTokensController } from './api-tokens.controller';
import { AuthGuard } from './auth.guard';
import { JwtVerifierService, OIDC_SETTINGS, OidcSettings } from './jwt-verifier.service';
import { OidcLoginService, PROCONNECT_SCOPES } from './oidc-login.service';
import { PrincipalLookup } from './principal-lookup';
import { SessionController } from './session.controller';

/** The sign-in's profile, scopes and algorithm: as given, else from the environment (OIDC_PROFILE, …). */
export function withDefaults(given: OidcSettings): OidcSettings {
  const config = given.profile && given.extraScopes && given.signingAlg ? null : loadConfig();
  const settings: OidcSettings = {
    ...given,
    profile: given.profile ?? config?.OIDC_PROFILE,
    extraScopes: given.extraScopes ?? config?.OIDC_EXTRA_SCOPES,
    signingAlg: given.signingAlg ?? config?.OIDC_SIGNING_ALG,
  };
  const unknown = (settings.extraScopes ?? []).filter((s) => !(PROCONNECT_SCOPES as readonly string[]).includes(s));
  if (settings.profile === 'proconnect' && unknown.length > 0)
    throw new ConfigError(
      `Invalid configuration (environment variables):\n  - OIDC_EXTRA_SCOPES: ${unknown.join(', ')} is not a ProConnect scope (${PROCONNECT_SCOPES.join(' ')}); ProConnect refuses the sign-in otherwise`,
    );
  return settings;
}

@Module({})
export class AuthModule {
  static forRoot(given: OidcSettings): DynamicModule {
    const settings = withDefaults(given);
    return {
      module: AuthModule,
      imports: [DirectoryModule],
      controllers: [SessionController, ApiTokensController, AccountsController],
      providers: [
        { provide: OIDC_SETTINGS, useValue: settings },
        { provide: JwtVerifierService, useFactory: () => new JwtVerifierService(settings) },
        OidcLoginService,
        PrincipalLookup,
        ApiTokenService,
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [JwtVerifierService],
    };
  }
}
