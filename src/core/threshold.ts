// The phase rule's numbers: a phase's executions by outcome, whether its failures exceed the error
// threshold, and whether it met its success threshold. Failures are `failed` and `rolled-back`.
import type { ErrorThreshold, Phase } from './rollout.js';

/** Executions of one phase, by outcome. */
export interface PhaseCounts {
  total: number;
  succeeded: number;
  /** Failed or rolled back (FAILURE_STATES). */
  failed: number;
  /** Finished in any way (succeeded, failed, cancelled, skipped, rolled-back). */
  terminal: number;
  /**
   * Skipped: nothing of the release fits the device (or the rollout stopped before it). Counted in
   * progress, but neither threshold judges them: both are percents of the devices delivered to.
   */
  skipped: number;
}

export const EMPTY_PHASE: PhaseCounts = { total: 0, succeeded: 0, failed: 0, terminal: 0, skipped: 0 };

/** The devices a phase delivers to: its total without the skipped ones. */
const delivered = (counts: PhaseCounts) => counts.total - (counts.skipped ?? 0);

/** A reason string when the phase breaches the threshold, else null. */
export function thresholdBreach(threshold: ErrorThreshold | null, phase: number, counts: PhaseCounts): string | null {
  const total = delivered(counts);
  if (!threshold || total <= 0 || counts.failed <= 0) return null;
  const percent = (counts.failed / total) * 100;
  if (percent <= threshold.percent) return null;
  return `phase ${phase + 1}: ${counts.failed} of ${total} devices failed (${percent.toFixed(1)}%), above the ${threshold.percent}% error threshold`;
}

/** Percent of a phase's devices that succeeded (an empty phase counts as 100%). */
export function successPercent(counts: PhaseCounts): number {
  const total = delivered(counts);
  return total <= 0 ? 100 : (counts.succeeded / total) * 100;
}

/** A reason string when a finished phase missed its success threshold, else null (also when it has none). */
export function successMiss(phase: Pick<Phase, 'successThreshold'>, index: number, counts: PhaseCounts): string | null {
  if (phase.successThreshold === null || phase.successThreshold === undefined) return null;
  const percent = successPercent(counts);
  if (percent >= phase.successThreshold) return null;
  return `phase ${index + 1} finished with ${counts.succeeded} of ${delivered(counts)} devices succeeded (${percent.toFixed(1)}%), below its ${phase.successThreshold}% success threshold`;
}
