// Progress of one rollout for the API and `rollouts watch`: counts per phase, bytes, the recent
// completion rate and an ETA from it.
import { isTerminal, type ExecutionState, type Rollout } from '../core/index.js';
import type { Store } from '../store/index.js';

export interface PhaseProgress {
  /** 1-based, as operators count. */
  phase: number;
  devices: number;
  counts: Partial<Record<ExecutionState, number>>;
}

export interface RolloutProgress {
  total: number;
  finished: number;
  bytes: number;
  /** Bytes devices fetched over the network and bytes they reused from files they held (delta transfers). */
  bytesFetched: number;
  bytesReused: number;
  /** Executions finished per second over the last minute (or since the start, if sooner). */
  ratePerSecond: number;
  /** Seconds until every execution is finished at that rate; null when unknown. */
  etaSeconds: number | null;
  phases: PhaseProgress[];
}

const RATE_WINDOW_MS = 60_000;

export async function rolloutProgress(store: Store, rollout: Rollout, now: number): Promise<RolloutProgress> {
  const phases: PhaseProgress[] = rollout.phases.map((_, i) => ({ phase: i + 1, devices: 0, counts: {} }));
  let total = 0;
  let finished = 0;
  for (const row of await store.executions.countsByPhase(rollout.id)) {
    const p = phases[Math.min(row.phase, phases.length - 1)]!;
    p.devices += row.n;
    p.counts[row.state] = (p.counts[row.state] ?? 0) + row.n;
    total += row.n;
    if (isTerminal(row.state)) finished += row.n;
  }
  const started = rollout.startedAt ? Date.parse(rollout.startedAt) : now;
  const windowMs = Math.max(1_000, Math.min(RATE_WINDOW_MS, now - started));
  const { bytes, bytesFetched, bytesReused, finishedSince } = await store.executions.stats(rollout.id, now - windowMs);
  const ratePerSecond = finishedSince / (windowMs / 1000);
  const remaining = total - finished;
  const etaSeconds = remaining === 0 ? 0 : ratePerSecond > 0 ? Math.ceil(remaining / ratePerSecond) : null;
  return { total, finished, bytes, bytesFetched, bytesReused, ratePerSecond: Math.round(ratePerSecond * 100) / 100, etaSeconds, phases };
}
