import { DynamicModule, Global, Module } from '@nestjs/common';
import { DEFAULT_STALE_AFTER_DAYS, DeviceStateService, FLEET_SETTINGS, FleetSettings } from './device-state.service';
import { DeviceLifecycleService } from './device-lifecycle.service';
import { DevicesController } from './devices.controller';
import { DevicesService } from './devices.service';

/**
 * Enrolled phones. Owns device state: DeviceStateService is the only writer of `device` rows, for
 * the platform modules, the rollout engine and everything else (see device-writes.spec.ts).
 */
@Global()
@Module({})
export class DevicesModule {
  static forRoot(settings: Partial<FleetSettings> = {}): DynamicModule {
    return {
      module: DevicesModule,
      controllers: [DevicesController],
      providers: [
        { provide: FLEET_SETTINGS, useValue: { staleAfterDays: settings.staleAfterDays ?? DEFAULT_STALE_AFTER_DAYS } },
        DeviceStateService,
        DevicesService,
        DeviceLifecycleService,
      ],
      exports: [FLEET_SETTINGS, DeviceStateService, DevicesService],
    };
  }
}
