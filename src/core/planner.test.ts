// Pure planning rules: phase sizes and assignment, release budgets (concurrency, rate limits with
// growth), backoff with jitter, and the phase rule (thresholds, soak, approval) of a running rollout.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, mayRetry } from './backoff.js';
import { assignPhases, phaseSizes, progressStep, releaseBudget, shuffle, type ProgressInput } from './planner.js';
import { currentRatePerMinute, startsAllowed } from './rate-limit.js';
import type { Phase } from './rollout.js';
import { thresholdBreach, type PhaseCounts } from './threshold.js';

const phase = (p: Partial<Phase>): Phase => ({ successThreshold: null, soakSeconds: 0, requireApproval: false, ...p });
const counts = (total: number, succeeded: number, failed = 0, other = 0, skipped = 0): PhaseCounts => ({ total, succeeded, failed, terminal: succeeded + failed + other + skipped, skipped });

describe('phases', () => {
  it('sizes cumulative percent and count phases, the last reaching everyone', () => {
    const phases = [phase({ percent: 1 }), phase({ percent: 10 }), phase({ percent: 50 }), phase({ percent: 100 })];
    expect(phaseSizes(phases, 1000)).toEqual([10, 100, 500, 1000]);
    expect(phaseSizes(phases, 7)).toEqual([1, 1, 4, 7]);
    expect(phaseSizes([phase({ count: 5 }), phase({ percent: 100 })], 3)).toEqual([3, 3]);
    expect(assignPhases([phase({ count: 2 }), phase({ percent: 50 }), phase({ percent: 100 })], 6)).toEqual([0, 0, 1, 2, 2, 2]);
  });

  it('assigns every device exactly one phase, in order, for any sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { maxLength: 5 }), fc.nat(500), (percents, total) => {
        const phases = [...percents.sort((a, b) => a - b), 100].map((p) => phase({ percent: p }));
        const assigned = assignPhases(phases, total);
        expect(assigned).toHaveLength(total);
        expect([...assigned].sort((a, b) => a - b)).toEqual(assigned);
        if (total > 0) expect(assigned.at(-1)).toBeLessThan(phases.length);
      }),
    );
  });

  it('shuffles with the injected randomness (a permutation, reproducible)', () => {
    const seq = () => {
      let i = 0;
      return () => ((i++ * 7919) % 100) / 100;
    };
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(shuffle(items, seq())).toEqual(shuffle(items, seq()));
    expect([...shuffle(items, seq())].sort((a, b) => a - b)).toEqual(items);
  });
});

describe('release budget and rate limits', () => {
  it('is bounded by free concurrency and by the per-minute rate', () => {
    expect(releaseBudget({ maxConcurrency: null, rateLimit: null, active: 10, startedInLastMinute: 0, succeeded: 0 })).toBe(Infinity);
    expect(releaseBudget({ maxConcurrency: 50, rateLimit: null, active: 45, startedInLastMinute: 0, succeeded: 0 })).toBe(5);
    expect(releaseBudget({ maxConcurrency: 50, rateLimit: null, active: 60, startedInLastMinute: 0, succeeded: 0 })).toBe(0);
    const rateLimit = { perMinute: 10, growthFactor: 2, growEvery: 20, maxPerMinute: 100 };
    expect(releaseBudget({ maxConcurrency: null, rateLimit, active: 0, startedInLastMinute: 4, succeeded: 0 })).toBe(6);
  });

  it('grows the rate by the factor after every M successes, up to the maximum (exponential rollout)', () => {
    const limit = { perMinute: 10, growthFactor: 2, growEvery: 20, maxPerMinute: 100 };
    expect([0, 19, 20, 40, 60, 80, 1000].map((s) => currentRatePerMinute(limit, s))).toEqual([10, 10, 20, 40, 80, 100, 100]);
    expect(startsAllowed(limit, 40, 45)).toBe(0);
  });
});

describe('backoff', () => {
  const retry = { maxAttempts: 5, backoffSeconds: 2, maxBackoffSeconds: 30 };
  it('doubles per attempt with equal jitter and a cap', () => {
    expect(backoffDelayMs(retry, 1, () => 0)).toBe(1000);
    expect(backoffDelayMs(retry, 1, () => 0.999999)).toBe(2000);
    expect(backoffDelayMs(retry, 3, () => 0.5)).toBe(6000);
    expect(backoffDelayMs(retry, 10, () => 0)).toBe(15000);
    expect(mayRetry(retry, 4)).toBe(true);
    expect(mayRetry(retry, 5)).toBe(false);
  });
});

describe('the phase rule', () => {
  const base: ProgressInput = {
    phases: [phase({ count: 10, successThreshold: 90, soakSeconds: 60 }), phase({ percent: 50, requireApproval: true }), phase({ percent: 100 })],
    currentPhase: 0,
    approvedPhase: -1,
    acceptedPhase: -1,
    phaseReachedAt: null,
    errorThreshold: { percent: 2, action: 'pause' },
    failureBaseline: 0,
    open: false,
  };
  const now = Date.parse('2026-01-15T12:00:00Z');
  const noThreshold = { ...base, errorThreshold: null };

  it('says why a phase breaches the error threshold (strictly more than the percent)', () => {
    expect(thresholdBreach({ percent: 2, action: 'pause' }, 1, counts(100, 90, 2))).toBeNull();
    expect(thresholdBreach({ percent: 2, action: 'abort' }, 1, counts(100, 90, 3))).toBe('phase 2: 3 of 100 devices failed (3.0%), above the 2% error threshold');
    expect(thresholdBreach(null, 0, counts(1, 0, 1))).toBeNull();
  });

  it('judges both thresholds over the devices delivered to: skipped devices (nothing of the release fits) neither fail nor miss', () => {
    // 10 devices, 5 skipped: 1 failure is 20% of the 5 delivered to.
    expect(thresholdBreach({ percent: 15, action: 'pause' }, 0, counts(10, 4, 1, 0, 5))).toBe('phase 1: 1 of 5 devices failed (20.0%), above the 15% error threshold');
    expect(thresholdBreach({ percent: 25, action: 'pause' }, 0, counts(10, 4, 1, 0, 5))).toBeNull();
    const strict = { ...noThreshold, phases: [phase({ percent: 50, successThreshold: 100 }), phase({ percent: 100 })] };
    expect(progressStep(strict, [counts(4, 2, 0, 0, 2), counts(0, 0)], now)).toMatchObject({ kind: 'reached' });
    expect(progressStep(strict, [counts(4, 1, 0, 1, 2), counts(0, 0)], now)).toMatchObject({ kind: 'missed', reason: expect.stringContaining('1 of 2 devices succeeded') });
    // A phase of skipped devices only is finished and passes.
    expect(progressStep(strict, [counts(3, 0, 0, 0, 3), counts(0, 0)], now)).toMatchObject({ kind: 'reached' });
  });

  it('stops on a breach as soon as it happens, counting only failures after an operator resumed', () => {
    expect(progressStep(base, [counts(10, 5, 1), counts(0, 0), counts(0, 0)], now)).toMatchObject({ kind: 'breach', action: 'pause' });
    expect(progressStep({ ...base, failureBaseline: 1 }, [counts(10, 5, 1), counts(0, 0), counts(0, 0)], now)).toMatchObject({ kind: 'wait', for: 'delivering' });
  });

  it('passes a phase only once all its devices are final, even above its success threshold', () => {
    expect(progressStep(noThreshold, [counts(10, 9, 0), counts(40, 0), counts(50, 0)], now)).toMatchObject({ kind: 'wait', for: 'delivering' });
    const final = [counts(10, 9, 1), counts(40, 0), counts(50, 0)];
    expect(progressStep(noThreshold, final, now)).toEqual({ kind: 'reached' });
    expect(progressStep({ ...noThreshold, phaseReachedAt: now - 30_000 }, final, now)).toMatchObject({ kind: 'wait', for: 'soak', until: now + 30_000 });
    expect(progressStep({ ...noThreshold, phaseReachedAt: now - 60_000 }, final, now)).toEqual({ kind: 'advance', to: 1 });
  });

  it('an error threshold of 30% lets one failure in five through to the next phase; no success threshold is assumed', () => {
    const r: ProgressInput = { ...base, phases: [phase({ count: 5 }), phase({ percent: 100 })], errorThreshold: { percent: 30, action: 'pause' } };
    const phases = [counts(5, 4, 1), counts(20, 0)];
    expect(progressStep(r, phases, now)).toEqual({ kind: 'reached' });
    expect(progressStep({ ...r, phaseReachedAt: now }, phases, now)).toEqual({ kind: 'advance', to: 1 });
    // Two of five (40%) is more than the threshold: the rollout pauses (never fails).
    expect(progressStep(r, [counts(5, 3, 2), counts(20, 0)], now)).toMatchObject({ kind: 'breach', action: 'pause', reason: expect.stringContaining('2 of 5 devices failed (40.0%)') });
  });

  it('a missed success threshold pauses with the reason; once an operator accepted it by resuming, the phase passes', () => {
    const missed = [counts(10, 8, 2), counts(40, 0), counts(50, 0)];
    expect(progressStep(noThreshold, missed, now)).toEqual({ kind: 'missed', reason: 'phase 1 finished with 8 of 10 devices succeeded (80.0%), below its 90% success threshold' });
    expect(progressStep({ ...noThreshold, acceptedPhase: 0 }, missed, now)).toEqual({ kind: 'reached' });
    // Cancelled or skipped devices do not count as successes.
    expect(progressStep(noThreshold, [counts(10, 8, 0, 2), counts(40, 0), counts(50, 0)], now).kind).toBe('missed');
  });

  it('holds a phase that requires approval until it is approved', () => {
    const at1 = { ...noThreshold, currentPhase: 1, phaseReachedAt: now };
    const phases = [counts(10, 10), counts(40, 40), counts(50, 0)];
    expect(progressStep(at1, phases, now)).toMatchObject({ kind: 'wait', for: 'approval', reason: expect.stringContaining('approve') });
    expect(progressStep({ ...at1, approvedPhase: 1 }, phases, now)).toEqual({ kind: 'advance', to: 2 });
  });

  it('completes when every device of every phase is final; the last phase is judged like the others', () => {
    const last = { ...noThreshold, currentPhase: 2 };
    expect(progressStep(last, [counts(10, 10), counts(40, 40), counts(50, 49)], now)).toMatchObject({ kind: 'wait', for: 'delivering' });
    expect(progressStep(last, [counts(10, 10), counts(40, 40), counts(50, 50)], now)).toEqual({ kind: 'complete', reason: '100 succeeded, 0 failed, 0 other' });
    expect(progressStep(last, [counts(10, 9, 1), counts(40, 40), counts(50, 48, 2)], now)).toEqual({ kind: 'complete', reason: '97 succeeded, 3 failed, 0 other' });
    expect(progressStep(last, [counts(10, 8, 1, 0, 1), counts(40, 40), counts(50, 48, 0, 1, 1)], now)).toEqual({ kind: 'complete', reason: '96 succeeded, 1 failed, 2 skipped, 1 other' });
    expect(progressStep({ ...last, phases: [...last.phases.slice(0, 2), phase({ percent: 100, successThreshold: 99 })] }, [counts(10, 10), counts(40, 40), counts(50, 48, 2)], now).kind).toBe('missed');
    expect(progressStep({ ...last, open: true }, [counts(10, 10), counts(40, 40), counts(50, 50)], now)).toMatchObject({ kind: 'wait', for: 'joins' });
    // A retried device of an earlier phase holds the completion until it is final again.
    expect(progressStep(last, [counts(10, 9), counts(40, 40), counts(50, 50)], now)).toMatchObject({ kind: 'wait', for: 'delivering' });
  });
});
