// The store's side of a rollout's summary (core/rollout-summary.ts does the arithmetic): one
// grouped query for counts, bytes and recent completions, plus what `waiting` needs for rollouts
// with a window or a rate limit. Every API answer with a rollout is made here.
import { needsOf, summarizeRollout, toRolloutView, type Rollout, type RolloutView } from '../core/index.js';
import type { Store } from '../store/index.js';

const RATE_WINDOW_MS = 60_000;

export async function describeRollout(store: Store, rollout: Rollout, now: number): Promise<RolloutView> {
  const started = rollout.startedAt ? Date.parse(rollout.startedAt) : now;
  const rateWindowMs = Math.max(1_000, Math.min(RATE_WINDOW_MS, now - started));
  const needs = needsOf(rollout);
  const [rows, pendingZones, starts] = await Promise.all([
    store.executionViews.summaryRows(rollout.id, now - rateWindowMs),
    needs.pendingZones ? store.executions.pendingTimezones(rollout.id, rollout.currentPhase, rollout.downloadAhead ? ['pending', 'downloaded'] : ['pending']) : undefined,
    needs.starts ? store.executionViews.startsSince(rollout.id, now - 60_000) : undefined,
  ]);
  const summary = summarizeRollout(rollout, rows, { rateWindowMs, pendingZones, startedInLastMinute: starts?.n, oldestStartInLastMinute: starts?.oldest ?? null }, now);
  return toRolloutView(rollout, summary);
}
