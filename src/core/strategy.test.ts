// The strategy table drives what a rollout request must give: phases for a phased strategy,
// startAt or a window for a timed one, one phase for the others; names outside the table are refused.
import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { validateRolloutSpec } from './rollout.js';
import { DEFAULT_STRATEGY, isRolloutStrategy, PHASED_STRATEGIES, ROLLOUT_STRATEGIES, STRATEGIES, strategyList } from './strategy.js';

const NOW = Date.parse('2026-01-15T12:00:00Z');
const PHASES = [{ percent: 10 }, { percent: 100 }];

/** The messages a request gets, or [] when it is valid. */
function problems(raw: Record<string, unknown>): string[] {
  try {
    validateRolloutSpec({ artifactId: 'a1', ...raw }, NOW);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return (error.details ?? []).map((d) => `${d.path}: ${d.message}`);
  }
}

describe('strategy table', () => {
  it('names the strategies once, with the default and the phased ones among them', () => {
    expect(ROLLOUT_STRATEGIES).toEqual(Object.keys(STRATEGIES));
    expect(ROLLOUT_STRATEGIES).toContain(DEFAULT_STRATEGY);
    expect(STRATEGIES[DEFAULT_STRATEGY]).toMatchObject({ phases: 'one', start: 'now', onConnect: false });
    expect(PHASED_STRATEGIES.length).toBeGreaterThan(0);
    expect(ROLLOUT_STRATEGIES.filter((s) => STRATEGIES[s].suggested)).toHaveLength(1);
    expect(strategyList()).toBe(`${ROLLOUT_STRATEGIES.slice(0, -1).join(', ')} or ${ROLLOUT_STRATEGIES.at(-1)}`);
  });

  it('knows only its own names (not the prototype\'s)', () => {
    for (const name of ROLLOUT_STRATEGIES) expect(isRolloutStrategy(name)).toBe(true);
    for (const name of ['constructor', 'toString', '', 'teleport', 42, null]) expect(isRolloutStrategy(name)).toBe(false);
    expect(problems({ strategy: 'constructor' })).toEqual([`strategy: must be one of ${ROLLOUT_STRATEGIES.join(', ')} (got "constructor")`]);
  });

  it('defaults to the default strategy', () => {
    expect(validateRolloutSpec({ artifactId: 'a1' }, NOW).strategy).toBe(DEFAULT_STRATEGY);
  });

  for (const name of ROLLOUT_STRATEGIES) {
    const traits = STRATEGIES[name];
    it(`${name}: asks what its traits say (phases ${traits.phases}, start ${traits.start})`, () => {
      const timing = traits.start === 'timed' ? { startAt: '2026-01-16T00:00:00Z' } : {};
      if (traits.phases === 'several') {
        expect(problems({ strategy: name, ...timing })).toEqual([`phases: a ${name} rollout needs phases, e.g. [{"percent":1},{"percent":10},{"percent":100}]`]);
        expect(validateRolloutSpec({ artifactId: 'a1', strategy: name, phases: PHASES, ...timing }, NOW).phases).toHaveLength(2);
      } else {
        expect(validateRolloutSpec({ artifactId: 'a1', strategy: name, ...timing }, NOW).phases).toEqual([{ percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: false }]);
        expect(problems({ strategy: name, phases: PHASES, ...timing })).toEqual([`phases: several phases need strategy ${PHASED_STRATEGIES.map((s) => `"${s}"`).join(' or ')} (got "${name}")`]);
      }
      const phases = traits.phases === 'several' ? { phases: PHASES } : {};
      if (traits.start === 'timed') {
        expect(problems({ strategy: name, ...phases })).toEqual([`startAt: a ${name} rollout needs startAt or a window (or both)`]);
        expect(problems({ strategy: name, ...phases, window: { daily: '02:00-04:00' } })).toEqual([]);
      } else {
        expect(problems({ strategy: name, ...phases })).toEqual([]);
      }
    });
  }
});
