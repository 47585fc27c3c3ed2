// Rollout use cases: create (validate, fix the device set, start), pause, resume, cancel, approve,
// close, rollback, and the rollouts as operators see them (one, a page, their progress). Handlers
// call these; the engine executes what they decide.
import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  FAILURE_STATES,
  FINISHED_ROLLOUT_STATUSES,
  NotFoundError,
  RETRYABLE_STATES,
  summarizeReleaseMatch,
  timeCursor,
  validateRolloutSpec,
  type Clock,
  type ExecutionState,
  type NewEvent,
  type PauseCause,
  type Random,
  type ReleasePlanSummary,
  type Rollout,
  type RolloutStatus,
  type RolloutView,
} from '../core/index.js';
import type { Store, StoreTransaction } from '../store/index.js';
import { describeRollouts } from './rollout-progress.js';
import { canStartInDatabase, planExecutions, releaseOf, resolveTargets, startInTransaction, type MatchedRelease } from './rollout-start.js';
import type { TargetChanges } from '../cluster/target-changes.js';
import { movedEvents, type Transitions } from './transitions.js';

/** What the engine wants to hear about: work to do, or a rollout whose deliveries must stop. */

/** Download-ahead executions whose target a pause (and resume) changes: download only while paused. */
const HELD_BY_PAUSE: ExecutionState[] = ['downloading', 'downloaded'];
export interface RolloutHooks {
  wake(): void;
  stopped(rolloutId: string): void;
}

const LIVE: RolloutStatus[] = ['scheduled', 'running', 'paused'];

/** A page of rollouts as the API answers it. */
export interface RolloutPage {
  items: RolloutView[];
  nextCursor: string | null;
  total: number;
}

export class RolloutService {
  private hooks: RolloutHooks = { wake: () => {}, stopped: () => {} };

  constructor(
    private readonly store: Store,
    private readonly transitions: Transitions,
    private readonly targetChanges: TargetChanges,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  setHooks(hooks: RolloutHooks): void {
    this.hooks = hooks;
  }

  async get(id: string): Promise<Rollout> {
    const rollout = await this.store.rollouts.get(id);
    if (!rollout) throw new NotFoundError('rollout', id);
    return rollout;
  }

  /** Rollout JSON as the API answers it: counts, progress, ETA and what it waits for (one source). */
  async describe(id: string): Promise<RolloutView> {
    const rollout = await this.store.rollouts.find(id);
    if (!rollout) throw new NotFoundError('rollout', id);
    const [view] = await describeRollouts(this.store, [rollout], this.clock.now());
    return view!;
  }

  /** Views of rollouts at hand (the answer of a rollback, say), summarised together. */
  describeAll(rollouts: readonly Rollout[]): Promise<RolloutView[]> {
    return describeRollouts(this.store, rollouts, this.clock.now());
  }

  /**
   * Newest first, keyset-paged (`cursor` is a page's nextCursor), filtered by status: the page is
   * summarised in one grouped query, the total counted once per page.
   */
  async list(options: { status?: RolloutStatus[]; limit: number; cursor?: string }): Promise<RolloutPage> {
    const before = timeCursor.decode(options.cursor);
    const [rows, total] = await Promise.all([this.store.rollouts.list({ status: options.status, limit: options.limit + 1, before, counts: false }), this.store.rollouts.count(options.status)]);
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    const last = page.at(-1);
    const items = await describeRollouts(this.store, page, this.clock.now());
    return { items, nextCursor: more && last ? timeCursor.encode({ createdAt: Date.parse(last.createdAt), id: last.id }) : null, total };
  }

  /**
   * Validates and stores a rollout; starts it at once unless startAt lies ahead. `revert` makes a
   * rollback that switches devices back to their previous slot (see Rollout.revert).
   */
  async create(input: unknown, actor: string, extra: { rollbackOf?: string; revert?: boolean } = {}): Promise<Rollout> {
    const now = this.clock.now();
    const spec = validateRolloutSpec(input, now);
    const release = await releaseOf(this.store, spec);
    const iso = new Date(now).toISOString();
    const later = spec.startAt !== null && Date.parse(spec.startAt) > now;
    const rollout: Rollout = {
      ...spec,
      // A rollout of a release names its first artifact; each execution names its device's.
      artifactId: spec.releaseId ? release.artifacts[0]!.artifactId : spec.artifactId,
      id: randomUUID(),
      status: later ? 'scheduled' : 'draft',
      statusReason: later ? `starts at ${spec.startAt}` : null,
      currentPhase: 0,
      approvedPhase: -1,
      phaseReachedAt: null,
      failureBaseline: 0,
      acceptedPhase: -1,
      pauseCause: null,
      revert: extra.revert ?? false,
      rollbackOf: extra.rollbackOf ?? null,
      closed: false,
      createdBy: actor,
      createdAt: iso,
      updatedAt: iso,
      startedAt: null,
      finishedAt: null,
      counts: {},
    };
    const executions = later ? [] : await this.plan(rollout, release);
    await this.transitions.atomically(async (tx) => {
      await tx.rollouts.create(rollout);
      const events: NewEvent[] = [{ type: 'rollout.created', actor, rolloutId: rollout.id, data: { spec, rollbackOf: rollout.rollbackOf, revert: rollout.revert } }];
      if (!later) events.push(...((await startInTransaction(tx, rollout, executions, now, actor)) ?? []));
      return { result: undefined, events };
    });
    this.hooks.wake();
    return this.get(rollout.id);
  }

  /** Starts a scheduled rollout whose time has come (the engine's periodic job). */
  async startScheduled(rollout: Rollout): Promise<boolean> {
    const now = this.clock.now();
    const executions = await this.plan(rollout);
    const started = await this.transitions.atomically(async (tx) => {
      const events = await startInTransaction(tx, rollout, executions, now, 'engine');
      return { result: events !== null, events: events ?? [] };
    });
    if (started) this.hooks.wake();
    return started;
  }

  /**
   * What a rollout would do now, creating nothing: the devices its filter targets, per artifact,
   * and those skipped with their reasons. The same matcher decides for the real start.
   */
  async dryRun(input: unknown): Promise<ReleasePlanSummary> {
    const spec = validateRolloutSpec(input, this.clock.now());
    const release = await releaseOf(this.store, spec);
    return summarizeReleaseMatch(release, await resolveTargets(this.store, spec));
  }

  /** The executions to write at the start: computed here for phased rollouts and releases, by the database otherwise. */
  private async plan(rollout: Rollout, release?: MatchedRelease) {
    if (canStartInDatabase(rollout)) return 'from-filter' as const;
    return planExecutions(this.store, rollout, await resolveTargets(this.store, rollout), this.random, undefined, release);
  }

  /**
   * Pause means "start nothing new": released pull work no device has started goes back to
   * waiting; deliveries in flight (push, a started download, an install) finish and count.
   */
  async pause(id: string, actor: string, reason: string | null = null, cause: PauseCause = 'operator'): Promise<Rollout> {
    const ahead = (await this.store.rollouts.find(id))?.downloadAhead ?? false;
    await this.change(id, ['scheduled', 'running'], 'paused', { statusReason: reason ?? `paused by ${actor}`, pauseCause: cause }, 'rollout.paused', actor, { reason, cause }, async (tx, now) => {
      const rows = await tx.executions.moveAll(id, 'queued', 'pending', now, { pullOnly: true });
      // Download ahead: devices downloading or ready keep their file; their target says download until resumed.
      const ready = ahead ? await tx.executions.pullDevicesIn(id, HELD_BY_PAUSE) : [];
      return { events: movedEvents(rows, 'queued', 'pending', actor, 'rollout paused before the device started it'), devices: [...rows.map((r) => r.deviceId), ...ready] };
    });
    return this.get(id);
  }

  /**
   * Resumes a paused rollout. Failures so far were seen by whoever resumed: only new ones count
   * against the error threshold; a phase paused for missing its success threshold is accepted.
   */
  async resume(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.get(id);
    const phaseFailures = (await this.store.executions.countsByPhase(id)).filter((c) => c.phase === rollout.currentPhase && FAILURE_STATES.includes(c.state)).reduce((n, c) => n + c.n, 0);
    const status: RolloutStatus = rollout.startAt && Date.parse(rollout.startAt) > this.clock.now() && !rollout.startedAt ? 'scheduled' : 'running';
    const accepted = rollout.pauseCause === 'success-threshold' ? Math.max(rollout.acceptedPhase, rollout.currentPhase) : rollout.acceptedPhase;
    await this.change(id, ['paused'], status, { statusReason: null, failureBaseline: phaseFailures, acceptedPhase: accepted }, 'rollout.resumed', actor, { acceptedFailures: phaseFailures, acceptedPhase: accepted >= 0 ? accepted + 1 : null }, async (tx) => ({
      events: [],
      // Download ahead: those devices may install again (if their window is open).
      devices: rollout.downloadAhead ? await tx.executions.pullDevicesIn(id, HELD_BY_PAUSE) : [],
    }));
    this.hooks.wake();
    return this.get(id);
  }

  /**
   * Re-queues the failed and rolled-back devices of a rollout (or one of them) with fresh
   * attempts; a rollout that ended runs again, a paused one stays paused. Answers how many.
   */
  async retry(id: string, actor: string, deviceId: string | null = null): Promise<{ retried: number; reopened: boolean }> {
    const rollout = await this.get(id);
    if (rollout.status === 'rolled-back') throw new ConflictError(`rollout '${id}' was rolled back; create a new rollout to install its artifact again`);
    if (rollout.status === 'draft' || rollout.status === 'scheduled') throw new ConflictError(`rollout '${id}' has not started, so nothing has failed yet`);
    if (deviceId !== null) {
      const execution = await this.store.executions.inRollout(id, deviceId);
      if (!execution) throw new NotFoundError(`device in rollout '${id}'`, deviceId);
      if (!RETRYABLE_STATES.includes(execution.state)) throw new ConflictError(`device '${deviceId}' is ${execution.state} in rollout '${id}'; only failed or rolled-back devices can be retried`);
    }
    const reopened = FINISHED_ROLLOUT_STATUSES.has(rollout.status);
    let retried = 0;
    await this.change(id, [rollout.status], reopened ? 'running' : null, reopened ? { statusReason: null, finishedAt: null } : {}, 'rollout.retried', actor, { deviceId, reopened, previousStatus: rollout.status }, async (tx, now) => {
      const rows = await tx.executions.requeue(id, deviceId, now);
      if (rows.length === 0) throw new ConflictError(`rollout '${id}' has no failed or rolled-back devices to retry`);
      // Accepted failures that are retried no longer count as seen: if they fail again, they count.
      const inPhase = rows.filter((r) => r.phase === rollout.currentPhase).length;
      if (inPhase > 0 && rollout.failureBaseline > 0) {
        await tx.rollouts.update(id, [reopened ? 'running' : rollout.status], { failureBaseline: Math.max(0, rollout.failureBaseline - inPhase) }, now);
      }
      retried = rows.length;
      const events: NewEvent[] = rows.map((r) => ({
        type: 'execution.pending',
        actor,
        rolloutId: id,
        deviceId: r.deviceId,
        executionId: r.id,
        data: { from: r.from, to: 'pending', attempt: 0, error: null, bytes: null, retryOf: r.previousId },
      }));
      return { events, devices: [], data: { devices: rows.length } };
    });
    this.hooks.wake();
    return { retried, reopened };
  }

  /** Cancels: pending work never starts, in-flight deliveries are aborted. */
  async cancel(id: string, actor: string): Promise<Rollout> {
    await this.stop(id, LIVE, 'cancelled', `cancelled by ${actor}`, 'rollout.cancelled', actor, 'cancelled');
    return this.get(id);
  }

  async approve(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.get(id);
    if (!rollout.phases[rollout.currentPhase]?.requireApproval) {
      throw new ConflictError(`phase ${rollout.currentPhase + 1} of rollout '${id}' does not require approval`);
    }
    const phase = rollout.currentPhase;
    await this.change(id, ['running', 'paused', 'scheduled'], null, { approvedPhase: Math.max(phase, rollout.approvedPhase) }, 'rollout.approved', actor, { phase: phase + 1 });
    this.hooks.wake();
    return this.get(id);
  }

  /** Continuous rollouts: stop taking new devices; the rollout completes when the current ones finish. */
  async close(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.get(id);
    if (!rollout.continuous) throw new ConflictError(`rollout '${id}' is not continuous; only continuous rollouts can be closed`);
    await this.change(id, LIVE, null, { closed: true }, 'rollout.closed', actor, {});
    this.hooks.wake();
    return this.get(id);
  }

  /**
   * Stops a rollout for good: moves it to `status` and the executions that have not finished to
   * `to` (pending, queued, pull work in progress, push work whose lease lapsed); live push
   * deliveries are aborted by their engine, which records them.
   */
  async stop(id: string, from: RolloutStatus[], status: RolloutStatus, reason: string, eventType: string, actor: string, to: Extract<ExecutionState, 'cancelled' | 'skipped'>): Promise<void> {
    const devices = await this.change(id, from, status, { statusReason: reason, finishedAt: this.clock.now() }, eventType, actor, { reason }, async (tx, now) => {
      const events: NewEvent[] = [];
      const ids: string[] = [];
      for (const state of ['pending', 'queued', 'downloading', 'downloaded', 'installing', 'verifying', 'delivering'] as ExecutionState[]) {
        if (to === 'skipped' && state !== 'pending' && state !== 'queued') continue;
        const rows = await tx.executions.moveAll(id, state, to, now, state === 'delivering' ? { leaseExpiredBefore: now } : {});
        events.push(...movedEvents(rows, state, to, actor, reason));
        ids.push(...rows.filter((r) => r.pull).map((r) => r.deviceId));
      }
      return { events, devices: ids };
    });
    if (devices) this.hooks.stopped(id);
  }

  /**
   * Compare-and-set of the rollout's status (null keeps it) plus `more` in one transaction, with
   * an event; ConflictError when the rollout is not in one of `from`. Answers devices to notify.
   */
  async change(
    id: string,
    from: RolloutStatus[],
    to: RolloutStatus | null,
    patch: Parameters<Store['rollouts']['update']>[2],
    eventType: string,
    actor: string,
    data: Record<string, unknown>,
    more?: (tx: StoreTransaction, now: number) => Promise<{ events: NewEvent[]; devices: string[]; data?: Record<string, unknown> }>,
  ): Promise<string[] | null> {
    const now = this.clock.now();
    // Only a paused rollout has a pause cause.
    const full = to ? { ...(to === 'paused' ? {} : { pauseCause: null }), ...patch, status: to } : patch;
    const devices = await this.transitions.atomically(async (tx) => {
      const ok = await tx.rollouts.update(id, from, full, now);
      if (!ok) return { result: null, events: [] };
      const extra = more ? await more(tx, now) : { events: [], devices: [] };
      await this.targetChanges.changedIn(tx, extra.devices);
      return { result: extra.devices, events: [{ type: eventType, actor, rolloutId: id, data: { ...data, ...extra.data, status: to } }, ...extra.events] };
    });
    if (devices === null) {
      const current = await this.get(id);
      if (to && current.status === to) return [];
      throw new ConflictError(`rollout '${id}' is ${current.status}; this needs it to be ${from.join(' or ')}`);
    }
    this.targetChanges.changedHere(devices);
    return devices;
  }

  isFinished(status: RolloutStatus): boolean {
    return FINISHED_ROLLOUT_STATUSES.has(status);
  }
}
