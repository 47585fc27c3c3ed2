// The one rule for "this device now runs version X": push results, pull reports, hawkBit feedback,
// Mender status and inventory, and installs that beat a cancel all record it through here.
import { DEVICE_VERSION_MAX, type Clock } from '../core/index.js';
import type { Repositories } from '../store/index.js';

/** A device and the version it runs. */
export interface DeviceRuns {
  deviceId: string;
  version: string;
}

/** The repositories a version write needs: the store's, or a unit of work's (`store.transaction`). */
export type VersionWriter = Pick<Repositories, 'devices'>;

export interface RecordOptions {
  /** Write inside this unit of work (commits with it) instead of on its own. */
  tx?: VersionWriter;
  /**
   * Only where the registry knows no version yet: a hint (Mender's inventory artifact_name), not
   * a report that the device installed something.
   */
  unknownOnly?: boolean;
}

export class DeviceVersions {
  constructor(
    private readonly store: VersionWriter,
    private readonly clock: Clock,
  ) {}

  /**
   * Records what each device runs, batched (one statement per distinct version). What a device
   * says it runs is a fact whatever became of the report it came with: callers record it even
   * when the execution refuses the report or the device runs something other than its target.
   */
  async record(runs: readonly DeviceRuns[], options: RecordOptions = {}): Promise<void> {
    const valid = runs.filter((r) => r.version !== '').map(({ deviceId, version }) => ({ deviceId, version: version.slice(0, DEVICE_VERSION_MAX) }));
    if (valid.length === 0) return;
    await (options.tx ?? this.store).devices.setVersions(valid, this.clock.now(), { unknownOnly: options.unknownOnly });
  }

  /** One device: see `record`. */
  async recordOne(deviceId: string, version: string, options: RecordOptions = {}): Promise<void> {
    await this.record([{ deviceId, version }], options);
  }
}
