import { DynamicModule, Global, Module } from '@nestjs/common';
import { AmapiClientService } from './amapi-client.service';
import { AndroidEnrollmentService } from './android-enrollment.service';
import { AndroidEnterpriseService } from './android-enterprise.service';
import { AndroidPolicyHygieneService } from './android-policy-hygiene.service';
import { AndroidPubsubPullService } from './android-pubsub-pull.service';
import { AndroidReconcileService } from './android-reconcile.service';
import { AndroidReportsService } from './android-reports.service';
import { ANDROID_SETTINGS, AndroidSettings } from './android-settings';
import { AndroidController } from './android.controller';
import { AndroidOffController } from './android-off.controller';
import { AndroidAdapter } from './android.adapter';
import { RateLimiterService } from './rate-limiter.service';

/** The platform side (client, quota, adapter): what the rollout engine pushes through. */
@Global()
@Module({})
export class AndroidPlatformModule {
  static forRoot(settings: AndroidSettings | null): DynamicModule {
    if (!settings) return { module: AndroidPlatformModule };
    return {
      module: AndroidPlatformModule,
      providers: [
        { provide: ANDROID_SETTINGS, useValue: settings },
        RateLimiterService,
        AmapiClientService,
        AndroidAdapter,
      ],
      exports: [ANDROID_SETTINGS, AmapiClientService, AndroidAdapter],
    };
  }
}

/** Enterprise binding, enrollment, Pub/Sub reports and reconciliation; only when Android is configured. */
@Module({})
export class AndroidModule {
  static forRoot(settings: AndroidSettings | null): DynamicModule {
    // Off: the console's routes say so, and which settings to set (instead of a bare 404).
    if (!settings) return { module: AndroidModule, controllers: [AndroidOffController] };
    return {
      module: AndroidModule,
      controllers: [AndroidController],
      providers: [
        AndroidEnterpriseService,
        AndroidEnrollmentService,
        AndroidReportsService,
        AndroidReconcileService,
        AndroidPubsubPullService,
        AndroidPolicyHygieneService,
      ],
      exports: [AndroidReconcileService, AndroidPubsubPullService, AndroidPolicyHygieneService],
    };
  }
}
