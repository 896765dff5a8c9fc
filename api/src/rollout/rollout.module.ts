import { DynamicModule, Module } from '@nestjs/common';
import { PoliciesModule } from '../policies/policies.module';
import { PlatformAdapter } from './platform-adapter';
import { PLATFORM_REGISTRY_OPTIONS, PlatformRegistry } from './platform-registry';
import { PolicyGroupService } from './policy-group.service';
import { RolloutEngine } from './rollout-engine.service';
import { RolloutController } from './rollout.controller';
import { RolloutService } from './rollout.service';

export interface RolloutOptions {
  /** Platform adapters (tests, benches); they win over those the platform modules register. */
  adapters?: PlatformAdapter[];
  /** Demo: simulated phones for platforms without an adapter. */
  simulateDevices?: boolean;
}

/**
 * The rollout engine. It knows platforms only through the PlatformRegistry, where the platform
 * modules (android/, apple/) register their adapter: this folder imports neither of them.
 */
@Module({})
export class RolloutModule {
  static forRoot(options: RolloutOptions): DynamicModule {
    return {
      module: RolloutModule,
      global: true,
      imports: [PoliciesModule],
      controllers: [RolloutController],
      providers: [
        { provide: PLATFORM_REGISTRY_OPTIONS, useValue: options },
        PlatformRegistry,
        PolicyGroupService,
        RolloutEngine,
        RolloutService,
      ],
      exports: [PlatformRegistry, PolicyGroupService, RolloutEngine, RolloutService],
    };
  }
}
