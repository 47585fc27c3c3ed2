// Error thresholds: whether a phase's failures exceed what the rollout tolerates.
import type { ErrorThreshold } from './rollout.js';

/** Executions of one phase, by outcome. */
export interface PhaseCounts {
  total: number;
  succeeded: number;
  failed: number;
  /** Finished in any way (succeeded, failed, cancelled, skipped, rolled-back). */
  terminal: number;
}

export const EMPTY_PHASE: PhaseCounts = { total: 0, succeeded: 0, failed: 0, terminal: 0 };

/** A reason string when the phase breaches the threshold, else null. */
export function thresholdBreach(threshold: ErrorThreshold | null, phase: number, counts: PhaseCounts): string | null {
  if (!threshold || counts.total === 0 || counts.failed === 0) return null;
  const percent = (counts.failed / counts.total) * 100;
  if (percent <= threshold.percent) return null;
  return `phase ${phase + 1}: ${counts.failed} of ${counts.total} devices failed (${percent.toFixed(1)}%), above the ${threshold.percent}% error threshold`;
}

/** Percent of a phase's devices that succeeded (an empty phase counts as 100%). */
export function successPercent(counts: PhaseCounts): number {
  return counts.total === 0 ? 100 : (counts.succeeded / counts.total) * 100;
}
