// What a running rollout releases in one round of the engine, as a pure plan: from what is known
// so far (the rollout, this server's free slots, what has been read and claimed), the next steps.
// The engine executes them (its table of step executors, engine/engine.ts), adds what they found to the state and asks
// again until no step is left, as the agent's apply loop does (balena-supervisor's shape). A read
// is planned only when a decision needs it, so a rollout with nothing to limit it costs no count.
import type { ExecutionState } from './execution.js';
import { IN_FLIGHT_STATES } from './execution.js';
import { releaseBudget } from './planner.js';
import type { Rollout } from './rollout.js';
import type { RolloutStrategy } from './strategy.js';
import { mayStartIn } from './window.js';

/** What limits starts: the rollout's executions per state, and starts in the last minute (rate limit only). */
export interface ReleaseLoad {
  counts: Partial<Record<ExecutionState, number>>;
  startedInLastMinute: number;
}

export interface ReleaseState {
  rollout: Pick<Rollout, 'id' | 'strategy' | 'currentPhase' | 'downloadAhead' | 'window' | 'maxConcurrency' | 'rateLimit'>;
  /** Devices that just connected (the round an on-connect rollout runs for them); undefined: the periodic round. */
  deviceIds?: string[];
  /** Whether this server's engine still runs, and how many more deliveries it may run at once now. */
  running: boolean;
  freeSlots: number;
  /** Most executions one claim takes. */
  batchSize: number;
  /** Who leases pushed work, and for how long. */
  owner: string;
  leaseMs: number;
  /** Read by a `load` step (undefined: not read yet). */
  load?: ReleaseLoad;
  /** Time zones of the rollout's pending devices, read by a `zones` step (undefined: not read yet). */
  pendingZones?: string[];
  /** How many a `pull` and a `push` step claimed (undefined: not run yet). */
  pulled?: number;
  pushed?: number;
}

/** One claim of due executions (the store's ClaimOptions, as the planner decides them). */
export interface ReleaseClaim {
  rolloutId: string;
  maxPhase: number;
  now: number;
  limit: number;
  pull: boolean;
  /** Only devices in these zones (their maintenance window lets a delivery start), or null for any. */
  timezones: string[] | null;
  onlineOnly: boolean;
  deviceIds?: string[];
  lease?: { owner: string; expiresAt: number };
}

export type ReleaseStep =
  /** Read the rollout's counts per state (and its starts since `startsSince`, with a rate limit). */
  | { kind: 'load'; startsSince: number | null }
  /** Read the time zones of the rollout's pending devices (a window without a zone of its own). */
  | { kind: 'zones' }
  /** Release pull devices: their targets change and they fetch the update themselves. */
  | { kind: 'pull'; claim: ReleaseClaim }
  /** Lease push devices and deliver to them from this server. */
  | { kind: 'push'; claim: ReleaseClaim & { lease: { owner: string; expiresAt: number } } };

export type ReleaseStepKind = ReleaseStep['kind'];

/** Which of the due devices of the rollout's phases so far a round may claim (beyond `deviceIds`, when given). */
interface ClaimScope {
  /** Only devices the registry sees online now. */
  onlineOnly: boolean;
}

const everyDue = (): ClaimScope => ({ onlineOnly: false });

/**
 * The planner's case of each strategy (core/strategy.ts is the table of what each is): which
 * devices a round claims. An on-connect rollout's periodic round takes only devices online now;
 * its round for devices that just connected takes those.
 */
const SCOPE: { readonly [S in RolloutStrategy]: (state: ReleaseState) => ClaimScope } = {
  immediate: everyDue,
  scheduled: everyDue,
  progressive: everyDue,
  'on-connect': (state) => ({ onlineOnly: state.deviceIds === undefined }),
};

const RATE_WINDOW_MS = 60_000;

/** The executions that may start now (Infinity when nothing limits them), or undefined until the load is read. */
function budgetOf(state: ReleaseState): number | undefined {
  const { rollout, load } = state;
  if (rollout.maxConcurrency === null && rollout.rateLimit === null) return Infinity;
  if (!load) return undefined;
  // A downloaded device (download ahead) waits for its window and takes no concurrency slot.
  const active = IN_FLIGHT_STATES.reduce((n, s) => n + (s === 'downloaded' ? 0 : (load.counts[s] ?? 0)), 0);
  return releaseBudget({ maxConcurrency: rollout.maxConcurrency, rateLimit: rollout.rateLimit, active, startedInLastMinute: load.startedInLastMinute, succeeded: load.counts.succeeded ?? 0 });
}

/** Zones whose window lets a delivery start now (null: any, the rollout has no window), or undefined until they are read. */
function openZones(state: ReleaseState, now: number): string[] | null | undefined {
  const window = state.rollout.window;
  if (!window) return null;
  if (window.timezone) return mayStartIn(window, window.timezone, now) ? null : [];
  return state.pendingZones?.filter((zone) => mayStartIn(window, zone, now));
}

/**
 * The next steps of one rollout's round (none: the round is over). Budget first (concurrency and
 * rate limit), then the window: closed everywhere, nothing starts, except that download-ahead pull
 * devices are released whatever the window (their target says whether to install,
 * core/download-ahead.ts). Pull devices are released first; push deliveries take what is left of
 * the budget and of this server's slots, and start only inside the window.
 */
export function planRelease(state: ReleaseState, now: number): ReleaseStep[] {
  const { rollout } = state;
  const budget = budgetOf(state);
  if (budget === undefined) return [{ kind: 'load', startsSince: rollout.rateLimit ? now - RATE_WINDOW_MS : null }];
  if (budget <= 0) return [];
  const timezones = openZones(state, now);
  if (timezones === undefined) return [{ kind: 'zones' }];
  const closed = timezones !== null && timezones.length === 0;
  if (closed && !rollout.downloadAhead) return [];
  const base = { rolloutId: rollout.id, maxPhase: rollout.currentPhase, now, ...SCOPE[rollout.strategy](state), ...(state.deviceIds ? { deviceIds: state.deviceIds } : {}) };
  if (state.pulled === undefined) return [{ kind: 'pull', claim: { ...base, timezones: rollout.downloadAhead ? null : timezones, pull: true, limit: Math.min(budget, state.batchSize) } }];
  if (state.pushed !== undefined || closed || !state.running) return [];
  const limit = Math.min(budget - state.pulled, state.freeSlots, state.batchSize);
  if (limit <= 0) return [];
  return [{ kind: 'push', claim: { ...base, timezones, pull: false, limit, lease: { owner: state.owner, expiresAt: now + state.leaseMs } } }];
}
