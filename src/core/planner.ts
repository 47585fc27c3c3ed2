// Rollout planning as pure functions of data and a clock: phase sizes and assignment, how many
// deliveries may start now, and what a running rollout should do next.
import type { Random } from './backoff.js';
import { currentRatePerMinute } from './rate-limit.js';
import type { Phase, RateLimit } from './rollout.js';
import { EMPTY_PHASE, successPercent, thresholdBreach, type PhaseCounts } from './threshold.js';
import type { ErrorThreshold } from './rollout.js';

/** Cumulative device counts each phase reaches, for a target set of `total` devices. */
export function phaseSizes(phases: Phase[], total: number): number[] {
  let previous = 0;
  return phases.map((phase, i) => {
    let size = phase.percent !== undefined ? Math.ceil((total * phase.percent) / 100) : Math.min(phase.count ?? 0, total);
    if (i === phases.length - 1) size = total;
    size = Math.max(size, previous);
    previous = size;
    return size;
  });
}

/** Phase index of each position in a target set (positions beyond the last size get the last phase). */
export function assignPhases(phases: Phase[], total: number): number[] {
  const sizes = phaseSizes(phases, total);
  const out = new Array<number>(total);
  let phase = 0;
  for (let i = 0; i < total; i++) {
    while (phase < sizes.length - 1 && i >= sizes[phase]!) phase++;
    out[i] = phase;
  }
  return out;
}

/** Fisher-Yates with injected randomness, so canaries are a random sample yet tests are exact. */
export function shuffle<T>(items: T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What limits how many deliveries of one rollout may start now. */
export interface ReleaseInput {
  maxConcurrency: number | null;
  rateLimit: RateLimit | null;
  /** Executions released and not finished (queued, delivering, downloading, ...). */
  active: number;
  startedInLastMinute: number;
  succeeded: number;
}

/** The number of executions that may be started now (Infinity when nothing limits it). */
export function releaseBudget(input: ReleaseInput): number {
  let budget = Infinity;
  if (input.maxConcurrency !== null) budget = Math.min(budget, input.maxConcurrency - input.active);
  if (input.rateLimit) budget = Math.min(budget, currentRatePerMinute(input.rateLimit, input.succeeded) - input.startedInLastMinute);
  return Math.max(0, budget);
}

/** The part of a rollout the progress decision needs. */
export interface ProgressInput {
  phases: Phase[];
  currentPhase: number;
  approvedPhase: number;
  /** Epoch ms the current phase reached its success threshold, or null. */
  phaseReachedAt: number | null;
  errorThreshold: ErrorThreshold | null;
  /** Failures of the current phase already accepted (resume after a threshold stop). */
  failureBaseline: number;
  /** Continuous and not closed: never completes by itself. */
  open: boolean;
}

export type ProgressStep =
  | { kind: 'wait'; reason: string }
  | { kind: 'reached' }
  | { kind: 'advance'; to: number }
  | { kind: 'complete'; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'breach'; action: 'pause' | 'abort'; reason: string };

/**
 * Decides the next step of a running rollout from its executions' counts per phase: stop on an
 * error-threshold breach, record when a phase reached its success threshold, advance after the
 * soak time and any approval, complete (or fail) when every execution is finished.
 */
export function progressStep(r: ProgressInput, counts: PhaseCounts[], now: number): ProgressStep {
  const i = r.currentPhase;
  const current = counts[i] ?? EMPTY_PHASE;
  const breach = thresholdBreach(r.errorThreshold, i, { ...current, failed: current.failed - r.failureBaseline });
  if (breach && r.errorThreshold) return { kind: 'breach', action: r.errorThreshold.action, reason: breach };
  const phase = r.phases[i]!;
  const isLast = i >= r.phases.length - 1;
  if (isLast) {
    const unfinished = counts.some((c) => c.terminal < c.total);
    if (unfinished) return { kind: 'wait', reason: 'delivering' };
    if (r.open) return { kind: 'wait', reason: 'continuous: waiting for devices to join' };
    const all = counts.reduce((a, c) => ({ total: a.total + c.total, succeeded: a.succeeded + c.succeeded, failed: a.failed + c.failed, terminal: a.terminal + c.terminal }), EMPTY_PHASE);
    const below = r.phases.findIndex((p, k) => successPercent(counts[k] ?? EMPTY_PHASE) < p.successThreshold);
    if (below >= 0) return { kind: 'fail', reason: `phase ${below + 1} finished with ${successPercent(counts[below]!).toFixed(1)}% success, below its ${r.phases[below]!.successThreshold}% threshold` };
    return { kind: 'complete', reason: `${all.succeeded} succeeded, ${all.failed} failed, ${all.total - all.succeeded - all.failed} other` };
  }
  const percent = successPercent(current);
  if (percent < phase.successThreshold) {
    if (current.terminal >= current.total) return { kind: 'fail', reason: `phase ${i + 1} finished with ${percent.toFixed(1)}% success, below its ${phase.successThreshold}% threshold` };
    return { kind: 'wait', reason: `phase ${i + 1} at ${percent.toFixed(1)}% success, needs ${phase.successThreshold}%` };
  }
  if (r.phaseReachedAt === null) return { kind: 'reached' };
  if (now < r.phaseReachedAt + phase.soakSeconds * 1000) return { kind: 'wait', reason: `phase ${i + 1} soaking until ${new Date(r.phaseReachedAt + phase.soakSeconds * 1000).toISOString()}` };
  if (phase.requireApproval && r.approvedPhase < i) return { kind: 'wait', reason: `phase ${i + 1} awaits approval (POST /api/v1/rollouts/:id/approve)` };
  return { kind: 'advance', to: i + 1 };
}
