// The rollout executor: a loop that claims due executions in batches with a lease, hands push
// deliveries to a bounded pool, releases pull work to devices, and runs the periodic jobs
// (start scheduled rollouts, reclaim expired leases, thresholds and phases, continuous joins)
// under a database lock so several servers run them once.
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { planRelease, STRATEGIES, type Clock, type Device, type Random, type ReleaseState, type ReleaseStep, type ReleaseStepKind, type Rollout } from '../core/index.js';
import type { Transport } from '../delivery/transport.js';
import type { DeviceVersions } from '../registry/device-versions.js';
import type { ClaimOptions, Store, StoredArtifact } from '../store/index.js';
import { DeliveryRunner } from './delivery-runner.js';
import { EngineJobs } from './engine-jobs.js';
import type { EngineLogger } from './engine-logger.js';
import type { RolloutService } from './rollout.service.js';
import type { TargetChanges } from '../cluster/target-changes.js';
import { executionEvent, type Transitions } from './transitions.js';

export interface EngineOptions {
  store: Store;
  transitions: Transitions;
  /** Records the versions pushed devices now run. */
  versions: DeviceVersions;
  service: RolloutService;
  targetChanges: TargetChanges;
  clock: Clock;
  random: Random;
  /** Push transports by device mode ('http', 'ssh'). */
  transports: ReadonlyMap<string, Transport>;
  /** Where an artifact's bytes are on disk (null for images). */
  artifactFile: (artifact: StoredArtifact) => string | null;
  /** Where an artifact's gzip-compressed chunk index is (null without one): pushes of deltas use it. */
  artifactIndexFile?: (artifact: StoredArtifact) => string | null;
  logger: EngineLogger;
  /** Deliveries in flight at once on this server. */
  concurrency: number;
  /** How long a claim is valid without renewal (a dead server's work is reclaimed after it). */
  leaseMs?: number;
  /** Idle poll interval. */
  tickMs?: number;
  /** Interval of the periodic jobs. */
  jobsMs?: number;
  /** Most executions claimed per statement. */
  batchSize?: number;
}

/** Carries out one kind of release step (core/release-plan.ts); answers what it found. */
type ReleaseExecutor<K extends ReleaseStepKind> = (step: Extract<ReleaseStep, { kind: K }>, rollout: Rollout, now: number) => Promise<Partial<ReleaseState>>;

export class Engine {
  readonly owner = `engine-${randomUUID()}`;
  private readonly runner: DeliveryRunner;
  private readonly jobs: EngineJobs;
  private readonly leaseMs: number;
  private readonly tickMs: number;
  private readonly batchSize: number;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private renewTimer: NodeJS.Timeout | null = null;
  private live: Rollout[] = [];
  private readonly artifacts = new Map<string, { artifact: StoredArtifact | null; at: number }>();
  private readonly zones = new Map<string, { zones: string[]; at: number }>();
  private idleWaiters: (() => void)[] = [];
  /** How the loop is doing, for /metrics: rounds run, when the last one ended and how long it took. */
  readonly rounds = { count: 0, lastEndedAt: 0, lastMs: 0 };

  constructor(private readonly o: EngineOptions) {
    this.leaseMs = o.leaseMs ?? 60_000;
    this.tickMs = o.tickMs ?? 250;
    this.batchSize = o.batchSize ?? 500;
    this.runner = new DeliveryRunner({
      transitions: o.transitions,
      versions: o.versions,
      clock: o.clock,
      random: o.random,
      transports: o.transports,
      artifactFile: o.artifactFile,
      artifactIndexFile: o.artifactIndexFile,
      // The one reader of device credentials: what a transport needs to authenticate a push.
      credentials: (device) => o.store.devices.withCredentials(device),
      owner: this.owner,
      onFlushed: () => this.wake(),
      onError: (error) => o.logger.error({ err: error }, 'engine: recording delivery outcomes failed; retrying'),
    });
    this.jobs = new EngineJobs({ ...o, owner: this.owner, jobsMs: o.jobsMs ?? 500, wake: () => this.wake() });
    o.service.setHooks({ wake: () => this.wake(), stopped: (id) => this.runner.abort((e) => e.rolloutId === id, 'cancel') });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(200, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Stops claiming, hands in-flight work back (pending, due now) and waits for it to be recorded. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loopDone;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.runner.abort(() => true, 'shutdown');
    await this.runner.drain();
    await this.jobs.release();
  }

  /** Aborts this server's in-flight pushes to a device (decommissioned: its executions ended). */
  abortDeliveriesTo(deviceId: string): void {
    this.runner.abort((e) => e.deviceId === deviceId, 'cancel');
  }

  /** Runs the loop now instead of after the idle interval. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Resolves after a round that found nothing to claim while nothing was in flight or unrecorded
   * (tests await this instead of sleeping).
   */
  idle(): Promise<void> {
    this.wake();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deliveries this server is running now. */
  get inFlight(): number {
    return this.runner.size;
  }

  /** Running on-connect rollouts (the device API's deviceSeen is a no-op without them). */
  onConnectRollouts(): Rollout[] {
    return this.live.filter((r) => r.status === 'running' && STRATEGIES[r.strategy].onConnect);
  }

  /** Releases on-connect work for devices that just came online. */
  async releaseFor(deviceIds: string[]): Promise<void> {
    const now = this.o.clock.now();
    for (const rollout of this.onConnectRollouts()) await this.release(rollout, now, deviceIds);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let busy = false;
      const started = this.o.clock.now();
      try {
        busy = await this.tick();
      } catch (error) {
        this.o.logger.error({ err: error }, 'engine: tick failed');
      }
      this.rounds.count++;
      this.rounds.lastEndedAt = this.o.clock.now();
      this.rounds.lastMs = this.rounds.lastEndedAt - started;
      if (!this.running) break;
      if (!busy && this.runner.isQuiet() && this.idleWaiters.length) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
      if (busy && this.runner.size < this.o.concurrency) continue;
      if (this.woken) {
        this.woken = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.tickMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
      this.woken = false;
    }
  }

  /** One round: refresh rollouts, run due jobs, claim work. Answers whether anything was claimed. */
  private async tick(): Promise<boolean> {
    const now = this.o.clock.now();
    this.live = await this.o.store.rollouts.listLive();
    const liveIds = new Set(this.live.map((r) => r.id));
    // A rollout stopped on another server: abort what this one still delivers for it.
    for (const id of this.runner.rolloutIds()) if (!liveIds.has(id)) this.runner.abort((e) => e.rolloutId === id, 'cancel');
    await this.jobs.maybeRun(this.live, now);
    let claimed = 0;
    for (const rollout of this.live) {
      if (rollout.status !== 'running' || !this.running) continue;
      claimed += await this.release(rollout, now);
    }
    return claimed > 0;
  }

  /**
   * Claims what one rollout may start now: pull work is released, push work delivered. The plan is
   * core's (planRelease); this runs its steps, adds what each found to the state and asks again
   * until no step is left.
   */
  private async release(rollout: Rollout, now: number, deviceIds?: string[]): Promise<number> {
    let state: ReleaseState = { rollout, deviceIds, running: this.running, freeSlots: this.o.concurrency - this.runner.size, batchSize: this.batchSize, owner: this.owner, leaseMs: this.leaseMs };
    for (let steps = planRelease(state, now); steps.length > 0; steps = planRelease(state, now)) {
      for (const step of steps) state = { ...state, ...(await this.runStep(step, rollout, now)) };
      state = { ...state, running: this.running, freeSlots: this.o.concurrency - this.runner.size };
      // Between claims, the turn's I/O: on SQLite a claim never yields (its statements complete
      // synchronously), and a phase releasing 18,000 devices held every poll for half a second.
      await nextTurn();
    }
    return (state.pulled ?? 0) + (state.pushed ?? 0);
  }

  private runStep<K extends ReleaseStepKind>(step: Extract<ReleaseStep, { kind: K }>, rollout: Rollout, now: number): Promise<Partial<ReleaseState>> {
    return (this.steps[step.kind] as ReleaseExecutor<K>)(step, rollout, now);
  }

  /** How each step of a release plan is carried out; each answers what it found. */
  private readonly steps: { readonly [K in ReleaseStepKind]: ReleaseExecutor<K> } = {
    load: async (step, rollout) => {
      const counts = await this.o.store.rollouts.countsByState(rollout.id);
      const startedInLastMinute = step.startsSince === null ? 0 : await this.o.store.executions.startedSince(rollout.id, step.startsSince);
      return { load: { counts, startedInLastMinute } };
    },
    zones: async (_step, rollout, now) => {
      let cached = this.zones.get(rollout.id);
      if (!cached || now - cached.at > 30_000) {
        cached = { zones: await this.o.store.executions.pendingTimezones(rollout.id), at: now };
        this.zones.set(rollout.id, cached);
      }
      return { pendingZones: cached.zones };
    },
    pull: async (step) => {
      const pulled = await this.claim(step.claim);
      // The other servers were notified inside the claim's transaction.
      if (pulled.length) this.o.targetChanges.changedHere(pulled.map((e) => e.deviceId));
      return { pulled: pulled.length };
    },
    push: async (step, rollout, now) => {
      const pushed = await this.claim(step.claim);
      if (pushed.length) {
        const devices = new Map<string, Device>((await this.o.store.devices.getMany(pushed.map((e) => e.deviceId))).map((d) => [d.id, d]));
        // Each execution delivers its own artifact (a rollout of a release gives devices different ones).
        const artifacts = new Map<string, StoredArtifact | null>();
        for (const id of new Set(pushed.map((e) => e.artifactId))) artifacts.set(id, await this.artifact(id, now));
        for (const execution of pushed) this.runner.start(execution, rollout, devices.get(execution.deviceId), artifacts.get(execution.artifactId) ?? null);
      }
      return { pushed: pushed.length };
    },
  };

  /** Claims and writes the claim's events in one transaction, before anything is acted on. */
  private claim(options: ClaimOptions) {
    return this.o.transitions.atomically(async (tx) => {
      const rows = await tx.executions.claim(options);
      if (options.pull) await this.o.targetChanges.changedIn(tx, rows.map((e) => e.deviceId));
      const to = options.pull ? 'queued' : 'delivering';
      return { result: rows, events: rows.map((e) => executionEvent({ id: e.id, rolloutId: e.rolloutId, deviceId: e.deviceId, from: 'pending', to, attempt: e.attempts }, 'engine')) };
    });
  }

  private async artifact(id: string, now: number): Promise<StoredArtifact | null> {
    const hit = this.artifacts.get(id);
    if (hit && now - hit.at < 60_000) return hit.artifact;
    const artifact = await this.o.store.artifacts.get(id);
    this.artifacts.set(id, { artifact, at: now });
    return artifact;
  }

  private async renew(): Promise<void> {
    const ids = this.runner.inFlightIds();
    if (ids.length === 0) return;
    try {
      await this.o.store.executions.renewLeases(ids, this.owner, this.o.clock.now() + this.leaseMs);
    } catch (error) {
      this.o.logger.error({ err: error }, 'engine: renewing leases failed');
    }
  }
}
