// Rollout planning as pure functions of data and a clock: phase sizes and assignment, how many
// deliveries may start now, and what a running rollout should do next.
import type { Random } from './backoff.js';
import { currentRatePerMinute } from './rate-limit.js';
import type { Phase, RateLimit } from './rollout.js';
import { EMPTY_PHASE, successMiss, thresholdBreach, type PhaseCounts } from './threshold.js';
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
  /** Highest phase whose missed success threshold an operator accepted by resuming (-1: none). */
  acceptedPhase: number;
  /** Epoch ms the current phase passed (its soak starts), or null. */
  phaseReachedAt: number | null;
  errorThreshold: ErrorThreshold | null;
  /** Failures of the current phase already accepted (resume after a threshold stop). */
  failureBaseline: number;
  /** Continuous and not closed: never completes by itself. */
  open: boolean;
}

/** What a running rollout waits for when it has nothing to decide yet. */
export type WaitFor = 'delivering' | 'soak' | 'approval' | 'joins';

export type ProgressStep =
  | { kind: 'wait'; for: WaitFor; reason: string; until?: number }
  | { kind: 'reached' }
  | { kind: 'advance'; to: number }
  | { kind: 'complete'; reason: string }
  | { kind: 'breach'; action: 'pause' | 'abort'; reason: string }
  | { kind: 'missed'; reason: string };

/**
 * Decides the next step of a running rollout from its executions' counts per phase, by the one
 * phase rule: a phase passes when all its devices are final, its failures do not exceed the error
 * threshold and, if it has one, its success threshold is met. Failures above the threshold stop
 * the rollout as soon as they happen (they can only grow); a missed success threshold is judged
 * once the phase is final. A passed phase soaks, waits for approval if asked, then the next starts;
 * the last one completes the rollout. A miss never fails the rollout: the engine pauses it.
 */
export function progressStep(r: ProgressInput, counts: PhaseCounts[], now: number): ProgressStep {
  const i = r.currentPhase;
  const current = counts[i] ?? EMPTY_PHASE;
  const breach = thresholdBreach(r.errorThreshold, i, { ...current, failed: current.failed - r.failureBaseline });
  if (breach && r.errorThreshold) return { kind: 'breach', action: r.errorThreshold.action, reason: breach };
  const phase = r.phases[i]!;
  const isLast = i >= r.phases.length - 1;
  // This phase and the ones before it (a retried device of an earlier phase counts too).
  const unfinished = counts.slice(0, isLast ? counts.length : i + 1).some((c) => c.terminal < c.total);
  if (unfinished) return { kind: 'wait', for: 'delivering', reason: `phase ${i + 1}: ${current.total - current.terminal} of ${current.total} devices not finished` };
  if (isLast && r.open) return { kind: 'wait', for: 'joins', reason: 'continuous: waiting for devices to join' };
  const miss = r.acceptedPhase >= i ? null : successMiss(phase, i, current);
  if (miss) return { kind: 'missed', reason: miss };
  if (isLast) {
    const all = counts.reduce((a, c) => ({ total: a.total + c.total, succeeded: a.succeeded + c.succeeded, failed: a.failed + c.failed, terminal: a.terminal + c.terminal, skipped: a.skipped + c.skipped }), EMPTY_PHASE);
    // Skipped devices (nothing of the release fits them) are named apart from the other endings.
    const skipped = all.skipped ? `, ${all.skipped} skipped` : '';
    return { kind: 'complete', reason: `${all.succeeded} succeeded, ${all.failed} failed${skipped}, ${all.total - all.succeeded - all.failed - all.skipped} other` };
  }
  if (r.phaseReachedAt === null) return { kind: 'reached' };
  const soakUntil = r.phaseReachedAt + phase.soakSeconds * 1000;
  if (now < soakUntil) return { kind: 'wait', for: 'soak', until: soakUntil, reason: `phase ${i + 1} soaking until ${new Date(soakUntil).toISOString()}` };
  if (phase.requireApproval && r.approvedPhase < i) return { kind: 'wait', for: 'approval', reason: `phase ${i + 1} awaits approval (orchestrator rollouts approve ID)` };
  return { kind: 'advance', to: i + 1 };
}
