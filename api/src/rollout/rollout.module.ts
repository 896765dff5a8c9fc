import { DynamicModule, Module } from '@nestjs/common';
import type { Platform } from '../devices/device.entity';
import { AndroidAdapter } from '../android/android.adapter';
import { AppleAdapter } from '../apple/apple.adapter';
import { PoliciesModule } from '../policies/policies.module';
import { PLATFORM_ADAPTERS, PlatformAdapter, UnconfiguredPlatformAdapter } from './platform-adapter';
import { PolicyGroupService } from './policy-group.service';
import { RolloutEngine } from './rollout-engine.service';
import { RolloutController } from './rollout.controller';
import { RolloutService } from './rollout.service';
import { SimulatedFleetAdapter } from './simulated-fleet.adapter';

export interface RolloutOptions {
  /** Platform adapters; a platform without one fails its pushes with a clear reason. */
  adapters?: PlatformAdapter[];
  /** Demo: simulated phones for platforms without an adapter. */
  simulateDevices?: boolean;
}

@Module({})
export class RolloutModule {
  static forRoot(options: RolloutOptions): DynamicModule {
    /** Given adapters (tests) first, then the configured platforms, then simulated or unconfigured ones. */
    const platformAdapters = (android?: AndroidAdapter, apple?: AppleAdapter): Map<Platform, PlatformAdapter> => {
      const adapters = new Map<Platform, PlatformAdapter>();
      for (const platform of ['android', 'ios'] as const) {
        const given =
          options.adapters?.find((a) => a.platform === platform) ?? (platform === 'android' ? android : apple);
        adapters.set(
          platform,
          given ??
            (options.simulateDevices ? new SimulatedFleetAdapter(platform) : new UnconfiguredPlatformAdapter(platform)),
        );
      }
      return adapters;
    };
    return {
      module: RolloutModule,
      global: true,
      imports: [PoliciesModule],
      controllers: [RolloutController],
      providers: [
        {
          provide: PLATFORM_ADAPTERS,
          useFactory: platformAdapters,
          inject: [
            { token: AndroidAdapter, optional: true },
            { token: AppleAdapter, optional: true },
          ],
        },
        PolicyGroupService,
        RolloutEngine,
        RolloutService,
      ],
      exports: [PolicyGroupService, RolloutEngine, RolloutService],
    };
  }
}
