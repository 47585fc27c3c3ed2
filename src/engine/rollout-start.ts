// Starting a rollout: resolve its device filter into a fixed set of executions (shuffled into
// phases), recording what each device ran before, in the same transaction as the status change.
// A rollout of a release gives each device the artifact the release matcher picks for it, and
// writes the devices nothing fits as skipped, with the reason (the dry run counts the same picks).
import { randomUUID } from 'node:crypto';
import {
  assignPhases,
  DEFAULT_COMPONENT,
  NotFoundError,
  releaseMatcher,
  rolloutDeviceFilter,
  shuffle,
  ValidationError,
  type MatchDevice,
  type NewEvent,
  type Random,
  type Release,
  type Rollout,
  type RolloutSpec,
} from '../core/index.js';
import type { NewExecution, Store, StoreTransaction } from '../store/index.js';

export interface Target extends MatchDevice {
  id: string;
  pull: boolean;
  timezone: string;
  version: string | null;
}

/** What the matcher needs of a release. */
export type MatchedRelease = Pick<Release, 'name' | 'version' | 'artifacts'>;

/** Devices the filter matches now, in id order. */
export function resolveTargets(store: Store, rollout: Pick<Rollout, 'filter'>): Promise<Target[]> {
  return store.executions.targets(rolloutDeviceFilter(rollout));
}

/**
 * The release a rollout delivers: its release, or its one artifact as a release that fits every
 * device (a rollout of one artifact gives it to every targeted device, as it always did).
 */
export async function releaseOf(store: Store, rollout: Pick<RolloutSpec, 'artifactId' | 'releaseId'>): Promise<MatchedRelease> {
  if (rollout.releaseId) {
    const release = await store.releases.get(rollout.releaseId);
    if (!release) throw new ValidationError(`release '${rollout.releaseId}' does not exist; create it first (orchestrator releases create)`, [{ path: 'releaseId', message: 'no such release' }]);
    return release;
  }
  const artifact = await store.artifacts.get(rollout.artifactId);
  if (!artifact) throw new ValidationError(`artifact '${rollout.artifactId}' does not exist; upload it first (orchestrator artifacts upload)`, [{ path: 'artifactId', message: 'no such artifact' }]);
  return { name: artifact.name, version: artifact.version, artifacts: [{ artifactId: artifact.id, component: DEFAULT_COMPONENT, match: { protocol: null, deviceType: null }, position: 0 }] };
}

/** The release of a stored rollout (its release cannot be deleted while the rollout is live). */
export async function storedReleaseOf(store: Store, rollout: Rollout): Promise<MatchedRelease> {
  try {
    return await releaseOf(store, rollout);
  } catch (error) {
    if (error instanceof ValidationError) throw new NotFoundError(rollout.releaseId ? 'release' : 'artifact', rollout.releaseId ?? rollout.artifactId);
    throw error;
  }
}

/**
 * Builds executions for `targets` in phases; the previous artifact comes from each device's last
 * success. Each device gets the artifact `release` matches to it; a device nothing fits gets a
 * skipped execution with the reason, in the first phase, and takes no place in the phases' sizes.
 */
export async function planExecutions(store: Store, rollout: Rollout, targets: Target[], random: Random, phaseOverride?: number, release?: MatchedRelease): Promise<NewExecution[]> {
  const match = releaseMatcher(release ?? (await storedReleaseOf(store, rollout)));
  const decided = targets.map((t) => ({ t, result: match(t) }));
  const delivered = decided.filter((d) => d.result.kind === 'deliver');
  const skipped = decided.filter((d) => d.result.kind === 'skip');
  const ordered = rollout.phases.length > 1 && phaseOverride === undefined ? shuffle(delivered, random) : delivered;
  const phases = phaseOverride === undefined ? assignPhases(rollout.phases, ordered.length) : null;
  const previous = await store.executions.lastSucceeded(targets.map((t) => t.id));
  const execution = ({ t, result }: (typeof decided)[number], phase: number): NewExecution => ({
    id: randomUUID(),
    rolloutId: rollout.id,
    deviceId: t.id,
    // A skipped device gets nothing; its row names the rollout's artifact.
    artifactId: result.kind === 'deliver' ? result.artifacts[0]!.artifactId : rollout.artifactId,
    phase,
    pull: t.pull,
    timezone: t.timezone,
    previousArtifactId: previous.get(t.id) ?? null,
    previousVersion: t.version,
    skipReason: result.kind === 'skip' ? result.reason : null,
    // Several components of the release for this device: one execution installs them all, in order.
    ...(result.kind === 'deliver' && result.artifacts.length > 1 ? { components: result.artifacts.map((a) => ({ component: a.component, artifactId: a.artifactId })) } : {}),
  });
  return [...ordered.map((d, i) => execution(d, phaseOverride ?? phases![i]!)), ...skipped.map((d) => execution(d, phaseOverride ?? 0))];
}

/** Single-phase rollouts of one artifact with a modest filter take the one-statement path (no device list in memory). */
export function canStartInDatabase(rollout: Rollout): boolean {
  const ids = (rollout.filter as { ids?: unknown[] }).ids;
  return rollout.releaseId === null && rollout.phases.length === 1 && (!ids || ids.length <= 5_000);
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
  // A rollout of a release says how many of them nothing fitted (written as skipped).
  const skipped = executions === 'from-filter' ? 0 : executions.filter((e) => e.skipReason).length;
  return [{ type: 'rollout.started', actor, rolloutId: rollout.id, data: { devices, ...(skipped ? { skipped } : {}) } }];
}
