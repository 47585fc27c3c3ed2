// A rollout's summary as a pure function: counts that add up, percentDone and successRate that
// agree with them, and `waiting` (approval, soak, window, rate-limit, start) with no ETA while waiting.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXECUTION_STATES, type ExecutionState } from './execution.js';
import type { Phase, Rollout } from './rollout.js';
import { summarizeRollout, type SummaryRow } from './rollout-summary.js';

const now = Date.parse('2026-01-15T12:00:00Z');
const phase = (p: Partial<Phase> = {}): Phase => ({ percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: false, ...p });
const rollout = (over: Partial<Rollout> = {}): Rollout => ({
  id: 'r1', name: '', artifactId: 'a1', releaseId: null, filter: {}, strategy: 'immediate', phases: [phase()], errorThreshold: null, window: null, startAt: null, maxConcurrency: null,
  retry: { maxAttempts: 3, backoffSeconds: 5, maxBackoffSeconds: 300 }, rateLimit: null, continuous: false, downloadAhead: false, maxBandwidth: null, maxDeviceBandwidth: null, status: 'running', statusReason: null, currentPhase: 0,
  approvedPhase: -1, acceptedPhase: -1, pauseCause: null, revert: false, phaseReachedAt: null, failureBaseline: 0, rollbackOf: null, closed: false, createdBy: 't',
  createdAt: new Date(now - 120_000).toISOString(), updatedAt: new Date(now).toISOString(), startedAt: new Date(now - 120_000).toISOString(), finishedAt: null, counts: {}, ...over,
});
const row = (phase: number, state: ExecutionState, n: number, finishedRecently = 0): SummaryRow => ({ phase, state, n, bytes: n * 100, finishedRecently });
const ctx = { rateWindowMs: 60_000 };

describe('rollout summary', () => {
  it('counts add up to the device count, and percentDone and successRate follow from them', () => {
    const s = summarizeRollout(rollout({ status: 'failed' }), [row(0, 'succeeded', 29), row(0, 'failed', 1), row(0, 'skipped', 30)], ctx, now);
    expect(s.counts).toEqual({ succeeded: 29, failed: 1, skipped: 30 });
    expect(s.progress).toMatchObject({ total: 60, finished: 60, percentDone: 100, succeeded: 29, failed: 1, successRate: 48.3, etaSeconds: null });
  });

  it('counts rolled-back devices as failures, next to failed ones', () => {
    const s = summarizeRollout(rollout(), [row(0, 'succeeded', 6), row(0, 'rolled-back', 2), row(0, 'failed', 1), row(0, 'downloading', 1)], ctx, now);
    expect(s.progress).toMatchObject({ total: 10, finished: 9, failed: 3, percentDone: 90, successRate: 66.7 });
    expect(s.progress.phases[0]).toMatchObject({ devices: 10, failed: 3, counts: { 'rolled-back': 2, failed: 1 } });
  });

  it('agrees with itself for any rows: counts, phases and totals', () => {
    const rows = fc.array(fc.record({ phase: fc.nat(3), state: fc.constantFrom(...EXECUTION_STATES), n: fc.nat(50) }));
    fc.assert(
      fc.property(rows, (raw) => {
        const s = summarizeRollout(rollout({ phases: [phase({ percent: 10 }), phase({ percent: 50 }), phase()] }), raw.map((r) => row(r.phase, r.state, r.n)), ctx, now);
        const sum = Object.values(s.counts).reduce((a, b) => a + (b ?? 0), 0);
        expect(sum).toBe(s.progress.total);
        expect(s.progress.phases.reduce((a, p) => a + p.devices, 0)).toBe(s.progress.total);
        expect(s.progress.finished).toBeLessThanOrEqual(s.progress.total);
        expect(s.progress.succeeded + s.progress.failed).toBeLessThanOrEqual(s.progress.finished);
      }),
    );
  });

  it('estimates from the recent rate while delivering, and reports no ETA while paused', () => {
    const rows = [row(0, 'succeeded', 30, 30), row(0, 'delivering', 10), row(0, 'pending', 50)];
    expect(summarizeRollout(rollout(), rows, ctx, now)).toMatchObject({ waiting: null, progress: { ratePerSecond: 0.5, etaSeconds: 120 } });
    expect(summarizeRollout(rollout({ status: 'paused' }), rows, ctx, now)).toMatchObject({ waiting: null, progress: { etaSeconds: null } });
  });

  it('waits for approval once a phase that requires it passed, with no ETA', () => {
    const r = rollout({ strategy: 'progressive', phases: [phase({ count: 2, requireApproval: true }), phase()], phaseReachedAt: new Date(now - 1000).toISOString() });
    const rows = [row(0, 'succeeded', 2, 2), row(1, 'pending', 8)];
    expect(summarizeRollout(r, rows, ctx, now)).toMatchObject({ waiting: 'approval', waitingUntil: null, progress: { etaSeconds: null } });
    // Passed a moment ago (the engine has not recorded it yet): already waiting for approval.
    expect(summarizeRollout({ ...r, phaseReachedAt: null }, rows, ctx, now).waiting).toBe('approval');
    expect(summarizeRollout({ ...r, approvedPhase: 0 }, rows, ctx, now).waiting).toBeNull();
  });

  it('soaks until the end of the soak time', () => {
    const r = rollout({ strategy: 'progressive', phases: [phase({ count: 2, soakSeconds: 600 }), phase()], phaseReachedAt: new Date(now - 60_000).toISOString() });
    expect(summarizeRollout(r, [row(0, 'succeeded', 2), row(1, 'pending', 8)], ctx, now)).toMatchObject({ waiting: 'soak', waitingUntil: new Date(now + 540_000).toISOString() });
  });

  it('waits for the window when nothing is in flight and every pending zone is closed, until it opens', () => {
    // 12:00Z is 07:00 in New York: the 02:00-04:00 window opens at 07:00Z tomorrow.
    const r = rollout({ window: { daily: '02:00-04:00', timezone: null, expectedDurationSeconds: 0 } });
    const s = summarizeRollout(r, [row(0, 'pending', 5)], { ...ctx, pendingZones: ['America/New_York'] }, now);
    expect(s).toMatchObject({ waiting: 'window', waitingUntil: '2026-01-16T07:00:00.000Z', progress: { etaSeconds: null } });
    // At 21:00Z it is 02:30 in Kolkata: the window is open there, so the rollout is not waiting.
    expect(summarizeRollout(r, [row(0, 'pending', 5)], { ...ctx, pendingZones: ['America/New_York', 'Asia/Kolkata'] }, Date.parse('2026-01-15T21:00:00Z')).waiting).toBe(null);
    expect(summarizeRollout(r, [row(0, 'pending', 5), row(0, 'delivering', 1)], { ...ctx, pendingZones: ['America/New_York'] }, now).waiting).toBeNull();
  });

  it('waits for the rate limit when the minute is used up, until the oldest start is a minute old', () => {
    const r = rollout({ rateLimit: { perMinute: 2, growthFactor: 1, growEvery: 1, maxPerMinute: 2 } });
    const s = summarizeRollout(r, [row(0, 'succeeded', 2), row(0, 'pending', 3)], { ...ctx, startedInLastMinute: 2, oldestStartInLastMinute: now - 20_000 }, now);
    expect(s).toMatchObject({ waiting: 'rate-limit', waitingUntil: new Date(now + 40_000).toISOString(), progress: { etaSeconds: null } });
    expect(summarizeRollout(r, [row(0, 'pending', 3)], { ...ctx, startedInLastMinute: 1, oldestStartInLastMinute: now - 20_000 }, now).waiting).toBeNull();
  });

  it('waits for its start time while scheduled', () => {
    const startAt = new Date(now + 3_600_000).toISOString();
    expect(summarizeRollout(rollout({ status: 'scheduled', startAt, startedAt: null }), [], ctx, now)).toMatchObject({ waiting: 'start', waitingUntil: startAt, progress: { total: 0, percentDone: 0, etaSeconds: null } });
  });
});
