import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AppleCaService } from './apple-ca.service';
import { AppleCheckinGuard } from './apple-checkin-guard.service';
import { AppleCommandHygieneService } from './apple-command-hygiene.service';
import { AppleCommandsService } from './apple-commands.service';
import { AppleEnrollmentService } from './apple-enrollment.service';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';
import { AppleController } from './apple.controller';
import { AppleEnrollmentLinksController } from './apple-enrollment-links.controller';
import { AppleOffController } from './apple-off.controller';
import { AppleAdapter } from './apple.adapter';
import { ApnsService } from './apns.service';
import { AppleIdentityRenewalService } from './identity-renewal/apple-identity-renewal.service';
import { IdentityExpiryInterceptor } from './identity-renewal/identity-expiry.interceptor';
import { MdmIdentityService } from './mdm-identity.service';
import { MdmProtocolService } from './mdm-protocol.service';
import { PushCertificateService } from './push-certificate.service';
import { AbmController } from './abm/abm.controller';
import { AdeEnrollController } from './abm/ade-enroll.controller';
import { AbmService } from './abm/abm.service';
import { VppController } from './vpp/vpp.controller';
import { VppService } from './vpp/vpp.service';
import { ProfileSignerService } from './cms/profile-signer.service';
import { ScepController } from './scep/scep.controller';
import { ScepService } from './scep/scep.service';

/** The platform side for the rollout engine: command queue, APNs, adapter. */
@Global()
@Module({})
export class ApplePlatformModule {
  static forRoot(settings: AppleSettings | null): DynamicModule {
    if (!settings) return { module: ApplePlatformModule };
    return {
      module: ApplePlatformModule,
      providers: [
        { provide: APPLE_SETTINGS, useValue: settings },
        PushCertificateService,
        AppleCommandsService,
        ApnsService,
        AppleAdapter,
      ],
      exports: [APPLE_SETTINGS, PushCertificateService, AppleCommandsService, ApnsService, AppleAdapter],
    };
  }
}

/** The MDM server: enrollment, check-in and command endpoints, push certificate management. */
@Module({})
export class AppleModule {
  static forRoot(settings: AppleSettings | null): DynamicModule {
    // Off: the console's routes say so, and which settings to set (instead of a bare 404).
    if (!settings) return { module: AppleModule, controllers: [AppleOffController] };
    return {
      module: AppleModule,
      controllers: [
        AppleController,
        AppleEnrollmentLinksController,
        AbmController,
        AdeEnrollController,
        VppController,
        ScepController,
      ],
      providers: [
        AppleCaService,
        AppleEnrollmentService,
        MdmIdentityService,
        MdmProtocolService,
        AppleCheckinGuard,
        AbmService,
        VppService,
        AppleCommandHygieneService,
        ProfileSignerService,
        ScepService,
        AppleIdentityRenewalService,
        // Check-ins record the real expiry of the identity they are signed with (renewal job).
        { provide: APP_INTERCEPTOR, useClass: IdentityExpiryInterceptor },
      ],
      exports: [MdmProtocolService, AppleCommandHygieneService, AppleIdentityRenewalService],
    };
  }
}
