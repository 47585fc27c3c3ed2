// Counts, progress and "what is it waiting for" of a rollout, as pure functions of the rollout,
// its executions per (phase, state) and the clock. Every answer that shows a rollout (get, list,
// actions, the CLI, the dashboard) takes these numbers from here, so they always agree.
import { FAILURE_STATES, IN_FLIGHT_STATES, isTerminal, type ExecutionState } from './execution.js';
import { EMPTY_PHASE, type PhaseCounts } from './threshold.js';
import { progressStep, type ProgressInput } from './planner.js';
import { currentRatePerMinute } from './rate-limit.js';
import { FINISHED_ROLLOUT_STATUSES, type Rollout } from './rollout.js';
import { nextStart } from './window.js';

/** What a rollout that is not delivering anything is waiting for. */
export const WAITING_REASONS = ['approval', 'soak', 'window', 'rate-limit', 'start'] as const;
export type Waiting = (typeof WAITING_REASONS)[number];

/** Executions of one rollout in one (phase, state), with their bytes. */
export interface SummaryRow {
  phase: number;
  state: ExecutionState;
  n: number;
  bytes: number;
  /** How many of them finished since the start of the rate window. */
  finishedRecently: number;
  /** How many of them are cancelled executions the device installed anyway. */
  installedAfterCancel?: number;
  /** Bytes fetched over the network and reused from files the devices held (delta transfers). */
  bytesFetched?: number;
  bytesReused?: number;
}

export type StateCounts = Partial<Record<ExecutionState, number>>;

export interface PhaseProgress {
  /** 1-based, as operators count. */
  phase: number;
  devices: number;
  /** Executions per state (states with none are left out); adds up to `devices`. */
  counts: StateCounts;
  finished: number;
  succeeded: number;
  /** Failed or rolled back. */
  failed: number;
  /** Download-ahead devices ready to install (state `downloaded`), waiting for the window. */
  downloaded: number;
  /** Devices in a final state, percent of `devices` (one decimal). */
  percentDone: number;
  /** Succeeded, percent of the finished devices; null while none finished. */
  successRate: number | null;
}

export interface RolloutProgress {
  /** Devices in the rollout: the sum of `counts`. */
  total: number;
  /** Devices in a final state (succeeded, failed, rolled-back, cancelled, skipped). */
  finished: number;
  /** finished / total, percent with one decimal (100 for a finished rollout without devices). */
  percentDone: number;
  succeeded: number;
  /** Failed or rolled back (rolled back: the device restored its previous version after failed health checks). */
  failed: number;
  /** succeeded / finished, percent with one decimal; null while nothing finished. */
  successRate: number | null;
  /** Cancelled devices that installed the update anyway (the cancel reached them too late); counted as cancelled. */
  installedAfterCancel: number;
  /** Download-ahead devices ready to install (downloaded and verified), waiting for the window to open. */
  downloaded: number;
  bytes: number;
  /** Bytes devices fetched over the network and bytes they reused from files they held (delta transfers). */
  bytesFetched: number;
  bytesReused: number;
  /** Executions finished per second over the rate window. */
  ratePerSecond: number;
  /** Seconds until every device is finished at that rate; null while paused or waiting, or when unknown. */
  etaSeconds: number | null;
  phases: PhaseProgress[];
}

export interface RolloutSummary {
  counts: StateCounts;
  progress: RolloutProgress;
  waiting: Waiting | null;
  /** ISO instant the wait ends, where known (soak end, window opening, start time, rate window). */
  waitingUntil: string | null;
}

/** What deciding `waiting` needs beyond the counts (each only when it matters; see needsOf). */
export interface WaitContext {
  /** Time zones of pending (download-ahead: and downloaded) executions in open phases (rollouts with a window in each device's zone). */
  pendingZones?: string[];
  /** Starts in the last minute and the oldest of them (rate-limited rollouts). */
  startedInLastMinute?: number;
  oldestStartInLastMinute?: number | null;
}

/** Which parts of WaitContext a rollout's summary needs (so the store is asked only for those). */
export function needsOf(rollout: Pick<Rollout, 'status' | 'window' | 'rateLimit'>): { pendingZones: boolean; starts: boolean } {
  const running = rollout.status === 'running';
  return { pendingZones: running && !!rollout.window && !rollout.window.timezone, starts: running && !!rollout.rateLimit };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const percent = (part: number, whole: number) => round1((part / whole) * 100);

/** The progress decision's input, from a stored rollout. */
export function progressInput(r: Rollout): ProgressInput {
  return {
    phases: r.phases,
    currentPhase: r.currentPhase,
    approvedPhase: r.approvedPhase,
    acceptedPhase: r.acceptedPhase,
    phaseReachedAt: r.phaseReachedAt ? Date.parse(r.phaseReachedAt) : null,
    errorThreshold: r.errorThreshold,
    failureBaseline: r.failureBaseline,
    open: r.continuous && !r.closed,
  };
}

/** Counts per phase for the phase rule (rows beyond the last phase count in the last one). */
export function phaseCounts(phases: number, rows: Pick<SummaryRow, 'phase' | 'state' | 'n'>[]): PhaseCounts[] {
  const counts = Array.from({ length: Math.max(1, phases) }, () => ({ ...EMPTY_PHASE }));
  for (const row of rows) {
    const c = counts[Math.min(row.phase, counts.length - 1)]!;
    c.total += row.n;
    if (row.state === 'succeeded') c.succeeded += row.n;
    if (FAILURE_STATES.includes(row.state)) c.failed += row.n;
    if (isTerminal(row.state)) c.terminal += row.n;
    if (row.state === 'skipped') c.skipped += row.n;
  }
  return counts;
}

/**
 * Why a rollout starts nothing now, or null when it is delivering (or paused, or finished: its
 * status says so). Waits are only reported while nothing is in flight, so a rollout that delivers
 * between two rate-limit slots is delivering, not waiting.
 */
export function waitingFor(rollout: Rollout, counts: PhaseCounts[], rows: Pick<SummaryRow, 'phase' | 'state' | 'n'>[], ctx: WaitContext, now: number): { waiting: Waiting | null; until: number | null } {
  const none = { waiting: null, until: null };
  if (rollout.status === 'scheduled') return { waiting: 'start', until: rollout.startAt ? Date.parse(rollout.startAt) : null };
  if (rollout.status !== 'running') return none;
  const step = progressStep(progressInput(rollout), counts, now);
  const phase = rollout.phases[rollout.currentPhase];
  if (step.kind === 'reached' && phase) {
    // Passed a moment ago; the engine records it on its next round.
    if (phase.soakSeconds > 0) return { waiting: 'soak', until: now + phase.soakSeconds * 1000 };
    if (phase.requireApproval && rollout.approvedPhase < rollout.currentPhase) return { waiting: 'approval', until: null };
    return none;
  }
  if (step.kind !== 'wait') return none;
  if (step.for === 'soak') return { waiting: 'soak', until: step.until ?? null };
  if (step.for === 'approval') return { waiting: 'approval', until: null };
  if (step.for !== 'delivering') return none;
  let active = 0;
  let pending = 0;
  // A download-ahead device that is ready (downloaded) waits for the window like a pending one.
  const waits = (state: ExecutionState) => state === 'pending' || (rollout.downloadAhead && state === 'downloaded');
  for (const row of rows) {
    if (waits(row.state)) {
      if (row.phase <= rollout.currentPhase) pending += row.n;
    } else if (IN_FLIGHT_STATES.includes(row.state)) active += row.n;
  }
  if (active > 0 || pending === 0) return none;
  const window = rollout.window;
  if (window) {
    const zones = window.timezone ? [window.timezone] : (ctx.pendingZones ?? []);
    const starts = zones.map((zone) => nextStart(window, zone, now));
    if (zones.length > 0 && !starts.includes(now)) {
      const known = starts.filter((s): s is number => s !== null);
      return { waiting: 'window', until: known.length ? Math.min(...known) : null };
    }
  }
  const limit = rollout.rateLimit;
  if (limit && ctx.startedInLastMinute !== undefined) {
    const succeeded = rows.filter((r) => r.state === 'succeeded').reduce((n, r) => n + r.n, 0);
    if (ctx.startedInLastMinute >= currentRatePerMinute(limit, succeeded)) {
      return { waiting: 'rate-limit', until: ctx.oldestStartInLastMinute ? ctx.oldestStartInLastMinute + 60_000 : null };
    }
  }
  return none;
}

/**
 * The one summary of a rollout: counts per state (adding up to its device count), progress per
 * phase and overall, the rate and ETA, and what it waits for.
 */
export function summarizeRollout(rollout: Rollout, rows: SummaryRow[], ctx: WaitContext & { rateWindowMs: number }, now: number): RolloutSummary {
  const counts: StateCounts = {};
  const phases: PhaseProgress[] = rollout.phases.map((_, i) => ({ phase: i + 1, devices: 0, counts: {}, finished: 0, succeeded: 0, failed: 0, downloaded: 0, percentDone: 0, successRate: null }));
  let bytes = 0;
  let finishedRecently = 0;
  let installedAfterCancel = 0;
  let bytesFetched = 0;
  let bytesReused = 0;
  for (const row of rows) {
    if (row.n === 0) continue;
    counts[row.state] = (counts[row.state] ?? 0) + row.n;
    const p = phases[Math.min(row.phase, phases.length - 1)]!;
    p.devices += row.n;
    p.counts[row.state] = (p.counts[row.state] ?? 0) + row.n;
    if (isTerminal(row.state)) p.finished += row.n;
    if (row.state === 'succeeded') p.succeeded += row.n;
    if (FAILURE_STATES.includes(row.state)) p.failed += row.n;
    if (row.state === 'downloaded') p.downloaded += row.n;
    bytes += row.bytes;
    finishedRecently += row.finishedRecently;
    installedAfterCancel += row.installedAfterCancel ?? 0;
    bytesFetched += row.bytesFetched ?? 0;
    bytesReused += row.bytesReused ?? 0;
  }
  for (const p of phases) {
    p.percentDone = p.devices === 0 ? 0 : percent(p.finished, p.devices);
    p.successRate = p.finished === 0 ? null : percent(p.succeeded, p.finished);
  }
  const total = phases.reduce((n, p) => n + p.devices, 0);
  const finished = phases.reduce((n, p) => n + p.finished, 0);
  const succeeded = phases.reduce((n, p) => n + p.succeeded, 0);
  const failed = phases.reduce((n, p) => n + p.failed, 0);
  const downloaded = phases.reduce((n, p) => n + p.downloaded, 0);
  const { waiting, until } = waitingFor(rollout, phaseCounts(rollout.phases.length, rows), rows, ctx, now);
  const ratePerSecond = finishedRecently / (Math.max(1_000, ctx.rateWindowMs) / 1000);
  const remaining = total - finished;
  let etaSeconds: number | null = null;
  if (rollout.status === 'running' && waiting === null) etaSeconds = remaining === 0 ? 0 : ratePerSecond > 0 ? Math.ceil(remaining / ratePerSecond) : null;
  return {
    counts,
    progress: {
      total,
      finished,
      percentDone: total === 0 ? (FINISHED_ROLLOUT_STATUSES.has(rollout.status) ? 100 : 0) : percent(finished, total),
      succeeded,
      failed,
      successRate: finished === 0 ? null : percent(succeeded, finished),
      installedAfterCancel,
      downloaded,
      bytes,
      bytesFetched,
      bytesReused,
      ratePerSecond: Math.round(ratePerSecond * 100) / 100,
      etaSeconds,
      phases,
    },
    waiting,
    waitingUntil: until === null ? null : new Date(until).toISOString(),
  };
}

/** Rollout JSON as every API answer gives it: the stored rollout with its summary. */
export interface RolloutView extends Rollout {
  progress: RolloutProgress;
  waiting: Waiting | null;
  waitingUntil: string | null;
}

export function toRolloutView(rollout: Rollout, summary: RolloutSummary): RolloutView {
  return { ...rollout, counts: summary.counts, progress: summary.progress, waiting: summary.waiting, waitingUntil: summary.waitingUntil };
}
