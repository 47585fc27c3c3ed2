// The release planner: which reads and claims one round of a rollout makes, in what order and
// with what limits (concurrency, rate limit, this server's slots, maintenance windows, download
// ahead, on-connect), driven here as the engine drives it: plan, run the step, plan again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRelease, type ReleaseLoad, type ReleaseState, type ReleaseStep } from './release-plan.js';
import type { RateLimit } from './rollout.js';
import { ROLLOUT_STRATEGIES, type RolloutStrategy } from './strategy.js';
import type { MaintenanceWindow } from './window.js';

const NOW = Date.parse('2026-01-15T03:00:00Z');
const night = (timezone: string | null = null): MaintenanceWindow => ({ daily: '02:00-04:00', timezone, expectedDurationSeconds: 0 });
const noon = (timezone: string | null = null): MaintenanceWindow => ({ daily: '11:00-13:00', timezone, expectedDurationSeconds: 0 });
const RATE: RateLimit = { perMinute: 10, growthFactor: 1, growEvery: 1, maxPerMinute: 10 };

function state(over: Partial<Omit<ReleaseState, 'rollout'>> & { rollout?: Partial<ReleaseState['rollout']> } = {}): ReleaseState {
  const { rollout, ...rest } = over;
  return {
    rollout: { id: 'r1', strategy: 'immediate', currentPhase: 0, downloadAhead: false, window: null, maxConcurrency: null, rateLimit: null, ...rollout },
    running: true,
    freeSlots: 50,
    batchSize: 500,
    owner: 'engine-a',
    leaseMs: 60_000,
    ...rest,
  };
}

/** What the store would answer: a load, pending zones, and how many devices each claim finds. */
interface World {
  load?: ReleaseLoad;
  zones?: string[];
  pullable?: number;
  pushable?: number;
  /** Free slots and running after each step (the engine re-reads them). */
  after?: Partial<Pick<ReleaseState, 'running' | 'freeSlots'>>;
}

/** Plans and "executes" until no step is left, as the engine does; answers the steps in order. */
function drive(start: ReleaseState, world: World, now = NOW): ReleaseStep[] {
  const taken: ReleaseStep[] = [];
  let s = start;
  for (let steps = planRelease(s, now); steps.length > 0; steps = planRelease(s, now)) {
    if (taken.length > 10) throw new Error(`no end: ${JSON.stringify(taken)}`);
    for (const step of steps) {
      taken.push(step);
      if (step.kind === 'load') s = { ...s, load: world.load ?? { counts: {}, startedInLastMinute: 0 } };
      else if (step.kind === 'zones') s = { ...s, pendingZones: world.zones ?? [] };
      else if (step.kind === 'pull') s = { ...s, pulled: Math.min(step.claim.limit, world.pullable ?? 0) };
      else s = { ...s, pushed: Math.min(step.claim.limit, world.pushable ?? 0) };
    }
    s = { ...s, ...world.after };
  }
  return taken;
}

describe('planRelease', () => {
  it('releases pull devices, then delivers to push devices with what is left, without reading anything when nothing limits it', () => {
    const steps = drive(state(), { pullable: 3, pushable: 100 });
    expect(steps).toEqual([
      { kind: 'pull', claim: { rolloutId: 'r1', maxPhase: 0, now: NOW, onlineOnly: false, timezones: null, pull: true, limit: 500 } },
      { kind: 'push', claim: { rolloutId: 'r1', maxPhase: 0, now: NOW, onlineOnly: false, timezones: null, pull: false, limit: 50, lease: { owner: 'engine-a', expiresAt: NOW + 60_000 } } },
    ]);
  });

  it('claims only up to the current phase', () => {
    const [pull] = planRelease(state({ rollout: { strategy: 'progressive', currentPhase: 2 } }), NOW);
    expect(pull).toMatchObject({ kind: 'pull', claim: { maxPhase: 2 } });
  });

  it('reads the counts first under a concurrency limit; in-flight work (not downloaded) takes the slots', () => {
    const limited = state({ rollout: { maxConcurrency: 10 } });
    expect(planRelease(limited, NOW)).toEqual([{ kind: 'load', startsSince: null }]);
    const steps = drive(limited, { load: { counts: { delivering: 4, queued: 2, downloaded: 7, pending: 90 }, startedInLastMinute: 0 }, pullable: 1, pushable: 100 });
    expect(steps.map((s) => s.kind)).toEqual(['load', 'pull', 'push']);
    expect(steps[1]).toMatchObject({ claim: { limit: 4 } });
    expect(steps[2]).toMatchObject({ claim: { limit: 3 } });
  });

  it('claims nothing once the budget is spent, before looking at the window', () => {
    const full = state({ rollout: { maxConcurrency: 5, window: night() }, load: { counts: { delivering: 5 }, startedInLastMinute: 0 } });
    expect(planRelease(full, NOW)).toEqual([]);
  });

  it('counts the starts of the last minute under a rate limit', () => {
    const limited = state({ rollout: { rateLimit: RATE } });
    expect(planRelease(limited, NOW)).toEqual([{ kind: 'load', startsSince: NOW - 60_000 }]);
    expect(planRelease({ ...limited, load: { counts: {}, startedInLastMinute: 10 } }, NOW)).toEqual([]);
    expect(planRelease({ ...limited, load: { counts: {}, startedInLastMinute: 7 } }, NOW)).toMatchObject([{ kind: 'pull', claim: { limit: 3 } }]);
  });

  it('pushes at most this server\'s free slots and the batch size, and nothing once the engine stops', () => {
    expect(drive(state({ freeSlots: 50, batchSize: 20 }), { pullable: 0, pushable: 100 }).at(-1)).toMatchObject({ kind: 'push', claim: { limit: 20 } });
    expect(drive(state(), { pullable: 0, after: { freeSlots: 0 } }).map((s) => s.kind)).toEqual(['pull']);
    expect(drive(state(), { pullable: 0, after: { running: false } }).map((s) => s.kind)).toEqual(['pull']);
  });

  it('a window with its own zone: nothing while it is closed, every device while it is open', () => {
    expect(planRelease(state({ rollout: { window: noon('UTC') } }), NOW)).toEqual([]);
    expect(drive(state({ rollout: { window: night('UTC') } }), { pullable: 0, pushable: 5 }).map((s) => [s.kind, s.kind === 'pull' || s.kind === 'push' ? s.claim.timezones : null])).toEqual([
      ['pull', null],
      ['push', null],
    ]);
  });

  it('a window in each device\'s zone: reads the pending zones, claims in those where it is open', () => {
    const zoned = state({ rollout: { window: night() } });
    expect(planRelease(zoned, NOW)).toEqual([{ kind: 'zones' }]);
    // 03:00 UTC is 12:00 in Tokyo and 22:00 in New York (closed there); London is open.
    const steps = drive(zoned, { zones: ['Europe/London', 'Asia/Tokyo', 'America/New_York'], pushable: 5 });
    expect(steps.map((s) => (s.kind === 'pull' || s.kind === 'push' ? [s.kind, s.claim.timezones] : [s.kind]))).toEqual([['zones'], ['pull', ['Europe/London']], ['push', ['Europe/London']]]);
    expect(drive(zoned, { zones: ['Asia/Tokyo'] }).map((s) => s.kind)).toEqual(['zones']);
  });

  it('download ahead: pull devices are released whatever the window; push deliveries wait for it', () => {
    const ahead = state({ rollout: { window: noon('UTC'), downloadAhead: true } });
    expect(drive(ahead, { pullable: 4, pushable: 5 })).toEqual([{ kind: 'pull', claim: expect.objectContaining({ pull: true, timezones: null }) }]);
    const open = drive(state({ rollout: { window: night(), downloadAhead: true } }), { zones: ['Europe/London'], pushable: 5 });
    expect(open.map((s) => (s.kind === 'pull' || s.kind === 'push' ? [s.kind, s.claim.timezones] : [s.kind]))).toEqual([['zones'], ['pull', null], ['push', ['Europe/London']]]);
  });

  it('on-connect: the periodic round takes devices online now; the round for devices that just connected takes those', () => {
    const onConnect = state({ rollout: { strategy: 'on-connect' } });
    expect(planRelease(onConnect, NOW)).toMatchObject([{ kind: 'pull', claim: { onlineOnly: true } }]);
    const [pull] = planRelease({ ...onConnect, deviceIds: ['d1', 'd2'] }, NOW);
    expect(pull).toMatchObject({ kind: 'pull', claim: { onlineOnly: false, deviceIds: ['d1', 'd2'] } });
    for (const strategy of ROLLOUT_STRATEGIES.filter((s) => s !== 'on-connect')) {
      expect(planRelease(state({ rollout: { strategy } }), NOW)[0]).toMatchObject({ kind: 'pull', claim: { onlineOnly: false } });
      expect(planRelease(state({ rollout: { strategy } }), NOW)[0]).not.toHaveProperty('claim.deviceIds');
    }
  });

  it('for any rollout and server: ends, reads before it decides, never claims past the budget, the slots or a closed window', () => {
    const windows = [null, night(), noon(), night('UTC'), noon('UTC')];
    fc.assert(
      fc.property(
        fc.record({
          strategy: fc.constantFrom<RolloutStrategy>(...ROLLOUT_STRATEGIES),
          window: fc.constantFrom(...windows),
          downloadAhead: fc.boolean(),
          maxConcurrency: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
          rateLimit: fc.option(fc.constant(RATE), { nil: null }),
          active: fc.nat(60),
          started: fc.nat(12),
          freeSlots: fc.integer({ min: -2, max: 40 }),
          batchSize: fc.integer({ min: 1, max: 30 }),
          pullable: fc.nat(40),
          pushable: fc.nat(40),
          zones: fc.subarray(['Europe/London', 'Asia/Tokyo', 'America/New_York']),
        }),
        (r) => {
          const start = state({ rollout: { strategy: r.strategy, window: r.window, downloadAhead: r.downloadAhead, maxConcurrency: r.maxConcurrency, rateLimit: r.rateLimit }, freeSlots: r.freeSlots, batchSize: r.batchSize });
          const steps = drive(start, { load: { counts: { delivering: r.active }, startedInLastMinute: r.started }, zones: r.zones, pullable: r.pullable, pushable: r.pushable });
          const kinds = steps.map((s) => s.kind);
          expect(new Set(kinds).size).toBe(kinds.length);
          expect(kinds.includes('load')).toBe(r.maxConcurrency !== null || r.rateLimit !== null);
          const budget = Math.min(r.maxConcurrency === null ? Infinity : r.maxConcurrency - r.active, r.rateLimit ? r.rateLimit.perMinute - r.started : Infinity);
          let claimed = 0;
          for (const step of steps) {
            if (step.kind !== 'pull' && step.kind !== 'push') continue;
            expect(step.claim.limit).toBeGreaterThan(0);
            expect(step.claim.limit).toBeLessThanOrEqual(Math.min(budget - claimed, r.batchSize));
            if (step.kind === 'push') {
              expect(step.claim.limit).toBeLessThanOrEqual(r.freeSlots);
              expect(step.claim.timezones === null || step.claim.timezones.length > 0).toBe(true);
            }
            claimed += step.kind === 'pull' ? Math.min(step.claim.limit, r.pullable) : Math.min(step.claim.limit, r.pushable);
          }
          if (budget <= 0) expect(kinds.filter((k) => k === 'pull' || k === 'push')).toEqual([]);
        },
      ),
    );
  });
});
