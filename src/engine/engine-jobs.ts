// The engine's periodic jobs, run by one server at a time (store.locks): fold the execution count
// deltas into their totals, start scheduled rollouts, reclaim work whose lease expired, apply
// thresholds and phase steps, let continuous rollouts take in devices that match their filter now.
import { ConflictError, installGate, phaseCounts, progressInput, progressStep, rolloutDeviceFilter, type Clock, type ExecutionState, type ProgressStep, type Random, type Rollout } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { EngineLogger } from './engine-logger.js';
import { planExecutions } from './rollout-start.js';
import type { RolloutService } from './rollout.service.js';
import type { TargetChanges } from '../cluster/target-changes.js';
import { movedEvents, type Transitions } from './transitions.js';

export interface JobsOptions {
  store: Store;
  transitions: Transitions;
  service: RolloutService;
  clock: Clock;
  random: Random;
  logger: EngineLogger;
  targetChanges: TargetChanges;
  owner: string;
  jobsMs: number;
  wake: () => void;
}

/** Carries out one kind of progress step (core/planner.ts). */
type ProgressExecutor<K extends ProgressStep['kind']> = (step: Extract<ProgressStep, { kind: K }>, rollout: Rollout, now: number) => Promise<void>;

const LOCK = 'engine.jobs';
/** Download-ahead executions whose target changes when their window opens or closes. */
const HELD: ExecutionState[] = ['queued', 'downloading', 'downloaded'];
const JOIN_EVERY_MS = 5_000;
/**
 * Count deltas folded per run (migration 0018, PostgreSQL; SQLite has none). Reads stay exact
 * either way; folding keeps what they sum small. A statement appends one delta per (rollout,
 * phase, state) it changed, so a run of this size takes far more than a second's worth.
 */
const FOLD_PER_RUN = 20_000;

export class EngineJobs {
  private nextRun = 0;
  private nextJoin = 0;
  /** Per download-ahead rollout, when this server last compared its window's gates. */
  private readonly lookedAt = new Map<string, number>();

  constructor(private readonly o: JobsOptions) {}

  async maybeRun(live: Rollout[], now: number): Promise<void> {
    if (now < this.nextRun) return;
    this.nextRun = now + this.o.jobsMs;
    if (!(await this.o.store.locks.acquire(LOCK, this.o.owner, now, Math.max(2_000, this.o.jobsMs * 4)))) return;
    await this.fold();
    for (const rollout of live) {
      if (rollout.status === 'scheduled' && rollout.startAt && Date.parse(rollout.startAt) <= now) await this.guard(rollout, () => this.o.service.startScheduled(rollout));
    }
    await this.reap(live, now);
    for (const rollout of live) if (rollout.status === 'running') await this.guard(rollout, () => this.progress(rollout, now));
    await this.windowFlips(live, now);
    if (now >= this.nextJoin) {
      this.nextJoin = now + JOIN_EVERY_MS;
      for (const rollout of live) if (rollout.status === 'running' && rollout.continuous && !rollout.closed) await this.guard(rollout, () => this.join(rollout));
    }
  }

  async release(): Promise<void> {
    await this.o.store.locks.release(LOCK, this.o.owner).catch(() => {});
  }

  /** A job failing for one rollout (or losing a race to another server) must not stop the others. */
  private async guard(rollout: Rollout, job: () => Promise<unknown>): Promise<void> {
    try {
      await job();
    } catch (error) {
      if (!(error instanceof ConflictError)) this.o.logger.error({ err: error, rolloutId: rollout.id }, 'engine: job failed');
    }
  }

  /** Folds count deltas; a failure is logged and the next run folds what this one did not. */
  private async fold(): Promise<void> {
    try {
      await this.o.store.executionCounts.fold(FOLD_PER_RUN);
    } catch (error) {
      this.o.logger.error({ err: error }, 'engine: folding execution counts failed');
    }
  }

  /** Work whose engine died goes back to pending (due now); if its rollout stopped meanwhile, cancelled. */
  private async reap(live: Rollout[], now: number): Promise<void> {
    const liveIds = new Set(live.map((r) => r.id));
    const reaped = await this.o.transitions.atomically(async (tx) => {
      const rows = await tx.executions.reapExpired(now, 5_000);
      return { result: rows, events: movedEvents(rows, 'delivering', 'pending', 'engine', 'lease expired: the engine delivering it stopped') };
    });
    const orphans = reaped.filter((r) => !liveIds.has(r.rolloutId));
    if (orphans.length) {
      await this.o.transitions.apply(
        orphans.map((r) => ({ id: r.id, rolloutId: r.rolloutId, deviceId: r.deviceId, attempt: r.attempts, from: 'pending', to: 'cancelled', error: 'rollout stopped' })),
        'engine',
      );
    }
    if (reaped.length) this.o.wake();
  }

  /** Applies the planner's next step for a running rollout (the phase rule, core/planner.ts). */
  private async progress(rollout: Rollout, now: number): Promise<void> {
    const counts = phaseCounts(rollout.phases.length, await this.o.store.executions.countsByPhase(rollout.id));
    const step = progressStep(progressInput(rollout), counts, now);
    await (this.steps[step.kind] as ProgressExecutor<typeof step.kind>)(step, rollout, now);
  }

  /** How each step of the phase rule is carried out: a compare-and-set of the rollout with its event. */
  private readonly steps: { readonly [K in ProgressStep['kind']]: ProgressExecutor<K> } = {
    wait: async () => {},
    reached: async (_step, rollout, now) => {
      const phase = rollout.phases[rollout.currentPhase]!;
      await this.o.service.change(rollout.id, ['running'], null, { phaseReachedAt: now }, 'rollout.phase-reached', 'engine', { phase: rollout.currentPhase + 1, soakSeconds: phase.soakSeconds, requireApproval: phase.requireApproval });
    },
    advance: async (step, rollout) => {
      await this.o.service.change(rollout.id, ['running'], null, { currentPhase: step.to, phaseReachedAt: null, failureBaseline: 0 }, 'rollout.phase-advanced', 'engine', { from: rollout.currentPhase + 1, to: step.to + 1 });
      this.o.wake();
    },
    complete: async (step, rollout, now) => {
      await this.o.service.change(rollout.id, ['running'], 'completed', { statusReason: step.reason, finishedAt: now }, 'rollout.completed', 'engine', { reason: step.reason });
    },
    missed: async (step, rollout) => {
      await this.o.service.pause(rollout.id, 'engine', `${step.reason}; resume to go on, cancel to stop`, 'success-threshold');
    },
    breach: async (step, rollout) => {
      if (step.action === 'pause') await this.o.service.pause(rollout.id, 'engine', `${step.reason}; resume to go on, cancel to stop`, 'error-threshold');
      else await this.o.service.stop(rollout.id, ['running'], 'failed', `aborted: ${step.reason}`, 'rollout.failed', 'engine', 'cancelled');
    },
  };

  /**
   * Download ahead: when a rollout's window opens (or closes) in a zone, the targets of its devices
   * there change (action download -> install): caches drop them, so their ETags change, and the
   * wake-up publisher tells the devices at once (every listener of the target changes, on every server).
   * Each zone's gate is compared with what it was when this server last looked (first: when the
   * rollout started), so a flip is seen once even by a server that just took over the jobs.
   */
  private async windowFlips(live: Rollout[], now: number): Promise<void> {
    const watched = live.filter((r) => r.status === 'running' && r.downloadAhead && r.window);
    for (const id of this.lookedAt.keys()) if (!watched.some((r) => r.id === id)) this.lookedAt.delete(id);
    for (const rollout of watched) {
      await this.guard(rollout, async () => {
        const window = rollout.window!;
        const since = this.lookedAt.get(rollout.id) ?? Date.parse(rollout.startedAt ?? rollout.createdAt);
        const zones = window.timezone ? [window.timezone] : await this.o.store.executions.pendingTimezones(rollout.id, undefined, HELD);
        for (const zone of zones) {
          const action = installGate(rollout, zone, now).action;
          if (installGate(rollout, zone, since).action === action) continue;
          const devices = await this.o.store.executions.pullDevicesIn(rollout.id, HELD, window.timezone ? undefined : zone);
          this.o.targetChanges.changed(devices);
          if (action === 'install') {
            const event = { type: 'rollout.window-opened', actor: 'engine', rolloutId: rollout.id, data: { timezone: zone, devices: devices.length } };
            await this.o.transitions.atomically(async () => ({ result: undefined, events: [event] }));
          }
        }
        this.lookedAt.set(rollout.id, now);
      });
    }
  }

  /** Continuous rollouts: devices that match the filter now and are not in the rollout join it (last phase). */
  private async join(rollout: Rollout): Promise<void> {
    let joined = 0;
    for await (const batch of this.o.store.devices.iterate(rolloutDeviceFilter(rollout), 5000)) {
      const known = new Set((await this.o.store.executions.deviceIdsIn(rollout.id, batch.map((d) => d.id))));
      const freshIds = batch.filter((d) => !known.has(d.id)).map((d) => d.id);
      if (freshIds.length === 0) continue;
      // What the release matcher needs of them (protocol, device type), read the way a start reads it.
      const fresh = await this.o.store.executions.targets({ ...rolloutDeviceFilter(rollout), ids: freshIds });
      const executions = await planExecutions(this.o.store, rollout, fresh, this.o.random, rollout.phases.length - 1);
      joined += await this.o.transitions.atomically(async (tx) => {
        const n = await tx.executions.insertMany(executions, this.o.clock.now());
        return { result: n, events: n ? [{ type: 'rollout.devices-joined', actor: 'engine', rolloutId: rollout.id, data: { devices: n } }] : [] };
      });
    }
    if (joined) this.o.wake();
  }
}
