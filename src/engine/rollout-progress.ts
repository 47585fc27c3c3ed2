// The store's side of rollout summaries (core/rollout-summary.ts does the arithmetic): one grouped
// query for the counts, bytes and recent completions of every rollout asked (a list page is one
// statement, not one per rollout), plus what `waiting` needs for rollouts with a window or a rate
// limit. Every API answer with a rollout is made here, through RolloutService.
import { needsOf, summarizeRollout, toRolloutView, type Rollout, type RolloutView } from '../core/index.js';
import type { Store } from '../store/index.js';

const RATE_WINDOW_MS = 60_000;

/** The window a rollout's rate is measured over: the last minute, or since it started if less. */
function rateWindowOf(rollout: Rollout, now: number): number {
  const started = rollout.startedAt ? Date.parse(rollout.startedAt) : now;
  return Math.max(1_000, Math.min(RATE_WINDOW_MS, now - started));
}

/** Views of `rollouts`, in their order. */
export async function describeRollouts(store: Pick<Store, 'executionViews' | 'executions'>, rollouts: readonly Rollout[], now: number): Promise<RolloutView[]> {
  if (rollouts.length === 0) return [];
  const windows = rollouts.map((r) => rateWindowOf(r, now));
  const summaries = await store.executionViews.summaryRowsOf(rollouts.map((r, i) => ({ rolloutId: r.id, since: now - windows[i]! })));
  return Promise.all(
    rollouts.map(async (rollout, i) => {
      const needs = needsOf(rollout);
      const [pendingZones, starts] = await Promise.all([
        needs.pendingZones ? store.executions.pendingTimezones(rollout.id, rollout.currentPhase, rollout.downloadAhead ? ['pending', 'downloaded'] : ['pending']) : undefined,
        needs.starts ? store.executionViews.startsSince(rollout.id, now - 60_000) : undefined,
      ]);
      const rows = summaries.get(rollout.id) ?? [];
      const summary = summarizeRollout(rollout, rows, { rateWindowMs: windows[i]!, pendingZones, startedInLastMinute: starts?.n, oldestStartInLastMinute: starts?.oldest ?? null }, now);
      return toRolloutView(rollout, summary);
    }),
  );
}
