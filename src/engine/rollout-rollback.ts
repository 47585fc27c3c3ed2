// Rollback: a new rollout of each device's previous artifact to the devices this rollout changed,
// grouped by that artifact; the original stops and is marked rolled-back.
import { ConflictError, type Execution, type Rollout } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { RolloutService } from './rollout.service.js';

export interface RollbackResult {
  rollout: Rollout;
  /** One new rollout per previous artifact. */
  rollbacks: Rollout[];
  /** Devices that changed but have no previous artifact recorded (first install from this server). */
  withoutPrevious: string[];
}

const CHANGED = ['succeeded', 'delivering', 'downloading', 'installing', 'verifying'] as const;

async function changedExecutions(store: Store, rolloutId: string): Promise<Execution[]> {
  const out: Execution[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await store.executions.list(rolloutId, { state: [...CHANGED], limit: 5000, after });
    out.push(...page);
    if (page.length < 5000) return out;
    after = page.at(-1)!.deviceId;
  }
}

export async function rollback(store: Store, service: RolloutService, id: string, actor: string): Promise<RollbackResult> {
  const rollout = await service.get(id);
  if (rollout.status === 'rolled-back') throw new ConflictError(`rollout '${id}' was already rolled back`);
  if (rollout.status === 'draft' || rollout.status === 'scheduled') throw new ConflictError(`rollout '${id}' has not started; cancel it instead`);
  const changed = await changedExecutions(store, id);
  const groups = new Map<string, string[]>();
  const withoutPrevious: string[] = [];
  for (const e of changed) {
    if (!e.previousArtifactId || e.previousArtifactId === e.artifactId) withoutPrevious.push(e.deviceId);
    else groups.set(e.previousArtifactId, [...(groups.get(e.previousArtifactId) ?? []), e.deviceId]);
  }
  for (const artifactId of [...groups.keys()]) {
    if (!(await store.artifacts.get(artifactId))) {
      withoutPrevious.push(...groups.get(artifactId)!);
      groups.delete(artifactId);
    }
  }
  if (changed.length > 0 && groups.size === 0) {
    throw new ConflictError(`none of the ${changed.length} devices this rollout changed has a previous artifact on this server (first installs, or the artifact was deleted); nothing to roll back to`);
  }
  const reason = `rolled back by ${actor}: ${changed.length - withoutPrevious.length} devices to their previous artifact`;
  if (['running', 'paused'].includes(rollout.status)) {
    await service.stop(id, ['running', 'paused'], 'rolled-back', reason, 'rollout.rolled-back', actor, 'cancelled');
  } else {
    await service.change(id, ['completed', 'failed', 'cancelled'], 'rolled-back', { status_reason: reason }, 'rollout.rolled-back', actor, { reason, withoutPrevious: withoutPrevious.length });
  }
  const rollbacks: Rollout[] = [];
  for (const [artifactId, ids] of groups) {
    const spec = { name: `rollback of ${rollout.name || rollout.id}`, artifactId, filter: { ids }, strategy: 'immediate', retry: rollout.retry, maxConcurrency: rollout.maxConcurrency };
    rollbacks.push(await service.create(spec, actor, { rollbackOf: id }));
  }
  return { rollout: await service.get(id), rollbacks, withoutPrevious };
}
