// Rollout validation (what cannot work is refused, naming the field) and the execution state machine.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { assertTransition, EXECUTION_STATES, isForward, isTerminal, TRANSITIONS } from './execution.js';
import { validateRolloutSpec } from './rollout.js';

const now = Date.parse('2026-01-15T12:00:00Z');
const paths = (raw: unknown): string[] => {
  try {
    validateRolloutSpec(raw, now);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details.map((d) => d.path ?? '');
  }
};

describe('validateRolloutSpec', () => {
  it('fills defaults for a minimal immediate rollout', () => {
    expect(validateRolloutSpec({ artifactId: 'a1' }, now)).toMatchObject({
      strategy: 'immediate',
      filter: {},
      phases: [{ percent: 100, successThreshold: null }],
      errorThreshold: null,
      window: null,
      retry: { maxAttempts: 3 },
      continuous: false,
    });
  });

  it('accepts a progressive rollout with a window in a fixed zone and a growing rate', () => {
    const spec = validateRolloutSpec(
      {
        artifactId: 'a1',
        strategy: 'progressive',
        filter: { status: 'online', tag: 'region:west' },
        phases: [{ percent: 1, requireApproval: true }, { percent: 10, soakSeconds: 600 }, { percent: 100 }],
        errorThreshold: { percent: 2, action: 'abort' },
        window: { daily: '02:00-04:00', timezone: 'America/New_York' },
        rateLimit: { perMinute: 10, growthFactor: 2, growEvery: 50 },
        startAt: '2026-02-01T00:00:00Z',
      },
      now,
    );
    expect(spec.phases.map((p) => p.percent)).toEqual([1, 10, 100]);
    expect(spec.rateLimit).toEqual({ perMinute: 10, growthFactor: 2, growEvery: 50, maxPerMinute: 1_000_000 });
  });

  it('names each field that cannot work', () => {
    expect(paths({})).toContain('artifactId');
    expect(paths({ artifactId: 'a', strategy: 'progressive', phases: [{ percent: 10 }, { percent: 50 }] })).toContain('phases.1');
    expect(paths({ artifactId: 'a', strategy: 'progressive' })).toContain('phases');
    expect(paths({ artifactId: 'a', strategy: 'progressive', phases: [{ percent: 50 }, { percent: 10 }, { percent: 100 }] })).toContain('phases.1.percent');
    expect(paths({ artifactId: 'a', strategy: 'progressive', phases: [{ percent: 10, count: 3 }, { percent: 100 }] })).toContain('phases.0');
    expect(paths({ artifactId: 'a', strategy: 'teleport' })).toContain('strategy');
    expect(paths({ artifactId: 'a', strategy: 'scheduled' })).toContain('startAt');
    expect(paths({ artifactId: 'a', window: { daily: '04:00-04:00' } })).toContain('window.daily');
    expect(paths({ artifactId: 'a', window: { daily: '02:00-04:00', timezone: 'Nowhere/City' } })).toContain('window.timezone');
    expect(paths({ artifactId: 'a', filter: { version: '>>2' } })).toContain('filter.version');
    expect(paths({ artifactId: 'a', errorThreshold: { percent: 200 } })).toContain('errorThreshold.percent');
    expect(paths({ artifactId: 'a', maxConcurrency: 0 })).toContain('maxConcurrency');
    expect(paths({ artifactId: 'a', startAt: 'tomorrow' })).toContain('startAt');
    expect(paths({ artifactId: 'a', retries: 3 })).toContain('retries');
  });
});

describe('execution state machine', () => {
  it('has no way out of a terminal state', () => {
    for (const state of EXECUTION_STATES) if (isTerminal(state)) expect(TRANSITIONS[state]).toEqual([]);
    expect(() => assertTransition('succeeded', 'pending')).toThrow(/cannot go from 'succeeded' to 'pending'/);
    expect(() => assertTransition('pending', 'delivering')).not.toThrow();
  });

  it('never lets a report move an execution backwards', () => {
    const state = fc.constantFrom(...EXECUTION_STATES);
    fc.assert(
      fc.property(state, state, (from, to) => {
        if (isForward(from, to)) {
          expect(TRANSITIONS[from]).toContain(to);
          expect(isForward(to, from)).toBe(false);
        }
      }),
    );
    expect(isForward('installing', 'downloading')).toBe(false);
    expect(isForward('succeeded', 'failed')).toBe(false);
    expect(isForward('queued', 'downloading')).toBe(true);
  });
});
