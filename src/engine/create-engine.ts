// Wires the engine's parts together (used by the composition root, tests and the benchmark).
import type { ClusterChannel } from '../cluster/channel.js';
import { TargetChanges } from '../cluster/target-changes.js';
import type { Clock, Random } from '../core/index.js';
import type { Transport } from '../delivery/transport.js';
import { DeviceVersions } from '../registry/device-versions.js';
import type { EventLog, Store, StoredArtifact } from '../store/index.js';
import { DeviceSyncService } from './device-sync.service.js';
import type { EngineLogger } from './engine-logger.js';
import { Engine, type EngineOptions } from './engine.js';
import { RolloutService } from './rollout.service.js';
import { Transitions } from './transitions.js';

export interface EngineParts {
  engine: Engine;
  rollouts: RolloutService;
  deviceSync: DeviceSyncService;
  targetChanges: TargetChanges;
  transitions: Transitions;
}

export interface CreateEngineOptions extends Partial<Pick<EngineOptions, 'leaseMs' | 'tickMs' | 'jobsMs' | 'batchSize'>> {
  store: Store;
  /** The cluster channel target changes travel on (started and stopped by its owner). */
  channel: ClusterChannel;
  events: EventLog;
  /** Where "this device now runs version X" is written (the composition root's; one of its own without). */
  versions?: DeviceVersions;
  clock: Clock;
  random?: Random;
  transports: ReadonlyMap<string, Transport>;
  artifactFile?: (artifact: StoredArtifact) => string | null;
  artifactIndexFile?: (artifact: StoredArtifact) => string | null;
  logger?: EngineLogger;
  concurrency: number;
}

export function createEngine(o: CreateEngineOptions): EngineParts {
  const random = o.random ?? Math.random;
  const transitions = new Transitions(o.store, o.events, o.clock);
  const versions = o.versions ?? new DeviceVersions(o.store, o.clock);
  const targetChanges = new TargetChanges(o.channel);
  const rollouts = new RolloutService(o.store, transitions, targetChanges, o.clock, random);
  const engine = new Engine({
    ...o,
    transitions,
    versions,
    service: rollouts,
    targetChanges,
    random,
    artifactFile: o.artifactFile ?? (() => null),
    logger: o.logger ?? { info: () => {}, error: () => {} },
  });
  const deviceSync = new DeviceSyncService(o.store, transitions, versions, targetChanges, engine, o.clock);
  return { engine, rollouts, deviceSync, targetChanges, transitions };
}
