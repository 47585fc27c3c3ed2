// The rollout strategies, as one table: each entry is a strategy's name and what it is (how many
// phases, how it starts, whether its devices are released when they connect, what the dashboard
// and the CLI say about it). Validation, the engine, the hawkBit adapter, the CLI and the
// dashboard (served as /ui/strategies.js) read the table; how a round of each strategy claims
// devices is its case in the release planner (core/release-plan.ts). Adding a strategy is one
// entry here plus that case.

export interface StrategyTraits {
  /** What the dashboard and the CLI show beside the name. */
  summary: string;
  /** 'several': the rollout must give its phases and may have several; 'one': every device in one phase. */
  phases: 'one' | 'several';
  /**
   * 'now': it starts when created (at startAt if one is given, only inside the window if one is given);
   * 'timed': it needs startAt or a maintenance window (or both) and waits for them.
   */
  start: 'now' | 'timed';
  /**
   * Devices are released when they connect (and, between connections, only while online), and
   * are offered the install to run when convenient (hawkBit: update "attempt") rather than forced.
   */
  onConnect: boolean;
  /** The dashboard's new-rollout form shows it first and preselects it. */
  suggested: boolean;
}

const TABLE = {
  immediate: { summary: 'every device at once', phases: 'one', start: 'now', onConnect: false, suggested: false },
  scheduled: { summary: 'at the start time or in the window', phases: 'one', start: 'timed', onConnect: false, suggested: false },
  progressive: { summary: 'in phases', phases: 'several', start: 'now', onConnect: false, suggested: true },
  'on-connect': { summary: 'each device when it next connects', phases: 'one', start: 'now', onConnect: true, suggested: false },
} as const satisfies Record<string, StrategyTraits>;

export type RolloutStrategy = keyof typeof TABLE;

export const STRATEGIES: Readonly<Record<RolloutStrategy, StrategyTraits>> = TABLE;

/** The strategy names, in the table's order. */
export const ROLLOUT_STRATEGIES = Object.keys(TABLE) as RolloutStrategy[];

/** What a rollout without a strategy gets, and what a rollback is: every device at once. */
export const DEFAULT_STRATEGY: RolloutStrategy = 'immediate';

export function isRolloutStrategy(name: unknown): name is RolloutStrategy {
  return typeof name === 'string' && Object.hasOwn(TABLE, name);
}

/** The strategies that take several phases (what a policy or a CLI call with phases but no strategy gets: the first). */
export const PHASED_STRATEGIES = ROLLOUT_STRATEGIES.filter((name) => STRATEGIES[name].phases === 'several');

/** "a, b, c or d": the names for help texts. */
export function strategyList(): string {
  return `${ROLLOUT_STRATEGIES.slice(0, -1).join(', ')} or ${ROLLOUT_STRATEGIES.at(-1)}`;
}

/** The dashboard's module (/ui/strategies.js): the table and the default, as data. */
export function strategiesModule(): string {
  return [
    '// Served by the server from core/strategy.ts: the rollout strategies and what each is.',
    `export const STRATEGIES = ${JSON.stringify(STRATEGIES)};`,
    `export const DEFAULT_STRATEGY = ${JSON.stringify(DEFAULT_STRATEGY)};`,
    `export const PHASED_STRATEGY = ${JSON.stringify(PHASED_STRATEGIES[0])};`,
    '',
  ].join('\n');
}
