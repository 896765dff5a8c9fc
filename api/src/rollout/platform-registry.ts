import { Inject, Injectable } from '@nestjs/common';
import { PLATFORMS, Platform } from '../devices/platforms';
import { DeviceReporter, PlatformAdapter, UnconfiguredPlatformAdapter } from './platform-adapter';
import { SimulatedFleetAdapter } from './simulated-fleet.adapter';

export const PLATFORM_REGISTRY_OPTIONS = Symbol('PLATFORM_REGISTRY_OPTIONS');

export interface PlatformRegistryOptions {
  /** Adapters given by the caller (tests, benches): they win over the ones platform modules register. */
  adapters?: PlatformAdapter[];
  /** Demo: simulated phones for platforms nobody registered. */
  simulateDevices?: boolean;
}

/**
 * Where the platform modules (android/, apple/) register their adapter with the rollout engine, so
 * that the engine knows platforms only through PlatformAdapter. A platform nobody registered gets
 * simulated phones (demo) or an adapter whose every push fails with "not configured".
 */
@Injectable()
export class PlatformRegistry {
  private readonly registered = new Map<Platform, PlatformAdapter>();
  private reporter?: DeviceReporter;

  constructor(@Inject(PLATFORM_REGISTRY_OPTIONS) private readonly options: PlatformRegistryOptions) {
    for (const adapter of options.adapters ?? []) this.registered.set(adapter.platform, adapter);
  }

  /** Called by a platform module at start-up. An adapter given in the options keeps its place. */
  register(adapter: PlatformAdapter): void {
    if (this.options.adapters?.some((a) => a.platform === adapter.platform)) return;
    this.registered.set(adapter.platform, adapter);
    if (this.reporter) adapter.attach?.(this.reporter);
  }

  /** What devices report back goes to the engine; adapters registered later are attached on registration. */
  attach(reporter: DeviceReporter): void {
    this.reporter = reporter;
    for (const adapter of this.registered.values()) adapter.attach?.(reporter);
  }

  get(platform: Platform): PlatformAdapter {
    let adapter = this.registered.get(platform);
    if (!adapter) {
      adapter = this.options.simulateDevices
        ? new SimulatedFleetAdapter(platform)
        : new UnconfiguredPlatformAdapter(platform);
      this.registered.set(platform, adapter);
      if (this.reporter) adapter.attach?.(this.reporter);
    }
    return adapter;
  }

  all(): PlatformAdapter[] {
    return PLATFORMS.map((p) => this.get(p));
  }
}
