// Starting a rollout: resolve its device filter into a fixed set of executions (shuffled into
// phases), recording what each device ran before, in the same transaction as the status change.
import { randomUUID } from 'node:crypto';
import { assignPhases, rolloutDeviceFilter, shuffle, type NewEvent, type Random, type Rollout } from '../core/index.js';
import type { NewExecution, Store, StoreTransaction } from '../store/index.js';

interface Target {
  id: string;
  pull: boolean;
  timezone: string;
  version: string | null;
}

/** Devices the filter matches now, in id order. */
export function resolveTargets(store: Store, rollout: Pick<Rollout, 'filter'>): Promise<Target[]> {
  return store.executions.targets(rolloutDeviceFilter(rollout));
}

/** Builds executions for `targets` in phases; the previous artifact comes from each device's last success. */
export async function planExecutions(store: Store, rollout: Rollout, targets: Target[], random: Random, phaseOverride?: number): Promise<NewExecution[]> {
  const ordered = rollout.phases.length > 1 && phaseOverride === undefined ? shuffle(targets, random) : targets;
  const phases = phaseOverride === undefined ? assignPhases(rollout.phases, ordered.length) : null;
  const previous = await store.executions.lastSucceeded(ordered.map((t) => t.id));
  return ordered.map((t, i) => ({
    id: randomUUID(),
    rolloutId: rollout.id,
    deviceId: t.id,
    artifactId: rollout.artifactId,
    phase: phaseOverride ?? phases![i]!,
    pull: t.pull,
    timezone: t.timezone,
    previousArtifactId: previous.get(t.id) ?? null,
    previousVersion: t.version,
  }));
}

/** Single-phase rollouts with a modest filter take the one-statement path (no device list in memory). */
export function canStartInDatabase(rollout: Rollout): boolean {
  const ids = (rollout.filter as { ids?: unknown[] }).ids;
  return rollout.phases.length === 1 && (!ids || ids.length <= 5_000);
}

/**
 * Moves a rollout from `from` to running and inserts its executions, atomically: if another
 * server started it first the compare-and-set fails and nothing is written.
 */
export async function startInTransaction(
  tx: StoreTransaction,
  rollout: Rollout,
  executions: NewExecution[] | 'from-filter',
  now: number,
  actor: string,
): Promise<NewEvent[] | null> {
  const ok = await tx.rollouts.update(rollout.id, [rollout.status], { status: 'running', startedAt: now, statusReason: null }, now);
  if (!ok) return null;
  const devices =
    executions === 'from-filter'
      ? await tx.executions.insertForFilter({ rolloutId: rollout.id, artifactId: rollout.artifactId }, rolloutDeviceFilter(rollout), now)
      : await tx.executions.insertMany(executions, now);
  return [{ type: 'rollout.started', actor, rolloutId: rollout.id, data: { devices } }];
}
