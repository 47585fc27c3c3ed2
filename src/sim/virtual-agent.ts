// One simulated device: the real Agent (planner, executors, protocol client) with in-memory state,
// in-memory downloads (a running hash) and an in-memory "install"; faults injected at HTTP level.
import { Agent, AgentClient, MemoryPartialStore, MemoryStateStore, silentLog, type HandlerTable, type HealthRunner, type InstallHandler, type InstalledRelease } from '../agent/index.js';
import type { TargetUpdate } from '../core/index.js';
import { faultyFetch, seededRandom, type FaultPlan } from './faults.js';

/** What a simulated device is like. */
export interface VirtualDeviceSpec {
  id: string;
  token: string;
  version: string;
  pollSeconds: number;
  healthFailRate: number;
  faults: FaultPlan;
  seed: number;
}

/** Counters a virtual device keeps for the fleet's summary. */
export interface VirtualStats {
  installs: number;
  rollbacks: number;
  drops: number;
  corruptions: number;
}

/** Installs nothing: records the release, as a device's bookkeeping would. */
const memoryInstall: InstallHandler = {
  async install({ update }): Promise<InstalledRelease> {
    return { name: update.name, version: update.version, sha256: update.sha256, handler: update.install.handler, slot: null, file: null, imageRef: update.imageRef, executionId: update.executionId };
  },
  async rollback() {},
};

export class VirtualDevice {
  readonly agent: Agent;
  readonly stats: VirtualStats = { installs: 0, rollbacks: 0, drops: 0, corruptions: 0 };
  private readonly stateStore = new MemoryStateStore();

  constructor(
    readonly spec: VirtualDeviceSpec,
    server: string,
    baseFetch: typeof fetch,
  ) {
    const random = seededRandom(spec.seed);
    const onFault = (kind: 'drop' | 'corrupt') => (kind === 'drop' ? this.stats.drops++ : this.stats.corruptions++);
    const client = new AgentClient({ server, deviceId: spec.id, token: spec.token, fetch: faultyFetch(baseFetch, spec.faults, random, onFault), timeoutMs: 60_000 });
    const handlers: HandlerTable = { file: memoryInstall, script: memoryInstall, container: memoryInstall };
    const stats = this.stats;
    const health: HealthRunner = {
      async check(update: TargetUpdate) {
        stats.installs++;
        if (random() < spec.healthFailRate) {
          stats.rollbacks++;
          return `simulated health failure of ${update.name} ${update.version}`;
        }
        return null;
      },
    };
    this.agent = new Agent({
      client,
      stateStore: this.stateStore,
      partials: new MemoryPartialStore(),
      handlers,
      health,
      trustedKey: null,
      log: silentLog,
      inventory: () => ({ simulated: true }),
      fixedPollSeconds: spec.pollSeconds,
      maxBackoffSeconds: Math.max(spec.pollSeconds, 5),
      random,
    });
  }

  /** Seeds the state with the version the device runs before the simulation. */
  async init(): Promise<void> {
    const state = await this.stateStore.load();
    state.current = { name: 'firmware', version: this.spec.version, sha256: null, handler: 'file', slot: null, file: null, imageRef: null, executionId: null };
    await this.stateStore.save(state);
    await this.agent.init();
  }

  get version(): string | null {
    return this.agent.current.current?.version ?? null;
  }

  /** 'idle', a job phase, or 'reporting' while a finished job's report waits. */
  get phase(): string {
    const state = this.agent.current;
    if (state.job) return state.job.outcome ? 'reporting' : state.job.phase;
    return state.outbox.length ? 'reporting' : 'idle';
  }
}
