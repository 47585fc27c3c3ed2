// Rollback: a new rollout of each device's previous artifact to the devices this rollout changed,
// grouped by that artifact. Agents whose previous release this server never had (their first
// rollout from it, or the artifact was deleted) still keep it in their other slot: they get a
// revert rollout that switches them back. The original stops and is marked rolled-back; the
// answer names every device that cannot be rolled back, and why.
import { ConflictError, DEFAULT_STRATEGY, type Device, type Execution, type Rollout } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { RolloutService } from './rollout.service.js';

export interface RollbackResult {
  rollout: Rollout;
  /** One new rollout per previous artifact, and one revert rollout (revert: true) for agents. */
  rollbacks: Rollout[];
  /** Devices that cannot be rolled back (the ids of notRolledBack). */
  withoutPrevious: string[];
  /** Devices that cannot be rolled back, with the reason. */
  notRolledBack: { deviceId: string; reason: string }[];
}

const CHANGED = ['succeeded', 'delivering', 'downloading', 'installing', 'verifying', 'cancelled'] as const;

/** Executions that changed their device: delivered or under way, or cancelled after installing anyway. */
async function changedExecutions(store: Store, rolloutId: string): Promise<Execution[]> {
  const out: Execution[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await store.executions.list(rolloutId, { state: [...CHANGED], limit: 5000, after });
    out.push(...page.filter((e) => e.state !== 'cancelled' || e.installedAfterCancel));
    if (page.length < 5000) return out;
    after = page.at(-1)!.deviceId;
  }
}

/** Why a device without a usable previous artifact cannot switch back by itself; null when it can (our agent). */
async function whyNoRevert(store: Store, device: Device | undefined, deviceId: string): Promise<string | null> {
  if (!device) return `device '${deviceId}' no longer exists`;
  if (device.mode !== 'pull') return `a ${device.mode} push device keeps no other slot this server can switch it back to`;
  const protocol = await store.devices.protocol(deviceId);
  if (protocol && protocol !== 'native') return `a ${protocol} device cannot be told to switch back to its other slot; roll it forward with a new rollout`;
  return null;
}

export async function rollback(store: Store, service: RolloutService, id: string, actor: string): Promise<RollbackResult> {
  const rollout = await service.get(id);
  if (rollout.status === 'rolled-back') throw new ConflictError(`rollout '${id}' was already rolled back`);
  if (rollout.status === 'draft' || rollout.status === 'scheduled') throw new ConflictError(`rollout '${id}' has not started; cancel it instead`);
  if (rollout.revert) throw new ConflictError(`rollout '${id}' is itself a rollback that switched devices back to their previous slot; roll forward with a new rollout`);
  const changed = await changedExecutions(store, id);
  const groups = new Map<string, string[]>();
  const unknown: Execution[] = [];
  const notRolledBack: RollbackResult['notRolledBack'] = [];
  // Several components went to these devices in one execution: what each component ran before is
  // the device's to know (the agent rolls them back together only within the execution).
  const several = rollout.releaseId ? await store.executions.devicesWithComponents(id) : new Set<string>();
  for (const e of changed) {
    if (several.has(e.deviceId)) {
      notRolledBack.push({ deviceId: e.deviceId, reason: 'it got several components of the release in one execution, and rolling several components back is not supported; roll the release it ran before out again' });
      continue;
    }
    if (!e.previousArtifactId || e.previousArtifactId === e.artifactId) unknown.push(e);
    else groups.set(e.previousArtifactId, [...(groups.get(e.previousArtifactId) ?? []), e.deviceId]);
  }
  const deleted = new Map<string, string>();
  for (const artifactId of [...groups.keys()]) {
    if (await store.artifacts.get(artifactId)) continue;
    for (const deviceId of groups.get(artifactId)!) deleted.set(deviceId, artifactId);
    groups.delete(artifactId);
  }
  const candidates = [...unknown.map((e) => e.deviceId), ...deleted.keys()];
  const devices = new Map((await store.devices.getMany(candidates)).map((d) => [d.id, d]));
  const revert: string[] = [];
  for (const deviceId of candidates) {
    const why = await whyNoRevert(store, devices.get(deviceId), deviceId);
    if (why === null) revert.push(deviceId);
    else {
      const previous = deleted.get(deviceId);
      notRolledBack.push({ deviceId, reason: previous ? `its previous artifact '${previous}' was deleted, and ${why}` : `this server never had the artifact it ran before (a first install from here), and ${why}` });
    }
  }
  const back = changed.length - notRolledBack.length;
  if (changed.length > 0 && back === 0) {
    throw new ConflictError(`none of the ${changed.length} devices this rollout changed can be rolled back: ${notRolledBack[0]!.reason}${notRolledBack.length > 1 ? ` (and ${notRolledBack.length - 1} more)` : ''}`);
  }
  const reason = `rolled back by ${actor}: ${back} devices to what they ran before${notRolledBack.length ? `, ${notRolledBack.length} cannot be` : ''}`;
  if (['running', 'paused'].includes(rollout.status)) {
    await service.stop(id, ['running', 'paused'], 'rolled-back', reason, 'rollout.rolled-back', actor, 'cancelled');
  } else {
    await service.change(id, ['completed', 'failed', 'cancelled'], 'rolled-back', { statusReason: reason }, 'rollout.rolled-back', actor, { reason, notRolledBack: notRolledBack.length });
  }
  const name = rollout.name || rollout.id;
  const base = { strategy: DEFAULT_STRATEGY, retry: rollout.retry, maxConcurrency: rollout.maxConcurrency };
  const rollbacks: Rollout[] = [];
  for (const [artifactId, ids] of groups) rollbacks.push(await service.create({ ...base, name: `rollback of ${name}`, artifactId, filter: { ids } }, actor, { rollbackOf: id }));
  // A rollout of a release left different artifacts on different devices: one revert per artifact left.
  const leaving = new Map<string, string[]>();
  const delivered = new Map(changed.map((e) => [e.deviceId, e.artifactId]));
  for (const deviceId of revert) {
    const artifactId = delivered.get(deviceId) ?? rollout.artifactId;
    leaving.set(artifactId, [...(leaving.get(artifactId) ?? []), deviceId]);
  }
  for (const [artifactId, ids] of leaving) {
    rollbacks.push(await service.create({ ...base, name: `rollback of ${name} (switch back to the previous slot)`, artifactId, filter: { ids } }, actor, { rollbackOf: id, revert: true }));
  }
  return { rollout: await service.get(id), rollbacks, withoutPrevious: notRolledBack.map((n) => n.deviceId), notRolledBack };
}
