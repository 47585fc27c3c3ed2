// Decommissioning a device: one transaction marks it decommissioned (the row stays, so its
// executions, events and reports stay readable), revokes its device token (which is also its
// hawkBit TargetToken) and its Mender authentication sets (which every Mender JWT is checked
// against on each request), and ends its unfinished executions so no rollout waits for it. Then
// every server forgets what it cached of the device (tokens, target state, hawkBit controller).
import { NotFoundError, type Clock, type Device, type Execution, type ExecutionState, type NewEvent } from '../core/index.js';
import type { TargetChanges } from '../cluster/target-changes.js';
import type { TokenRevocations } from '../cluster/token-revocations.js';
import { executionEvent, type ExecutionChange, type Transitions } from '../engine/transitions.js';
import type { Store, StoreTransaction } from '../store/index.js';

export interface DecommissionDeps {
  store: Pick<Store, 'devices' | 'executions'>;
  transitions: Pick<Transitions, 'atomically'>;
  clock: Clock;
  /**
   * Target changes and token revocations: their listeners on every server forget the device's
   * target state and hawkBit controller, and its cached tokens (the other servers hear it with the commit).
   */
  targetChanges: Pick<TargetChanges, 'changedIn' | 'changedHere'>;
  tokenRevocations: Pick<TokenRevocations, 'revokedIn' | 'revokedHere'>;
  /** Told after the commit: the device totals changed. */
  registryChanged: () => void;
  /** Told after the commit when executions ended: abort this server's pushes to the device, let rollouts finish. */
  executionsEnded: (deviceId: string) => void;
}

/** Not started yet: skipped. Started (released, delivering, on the device): cancelled. */
const ENDS_AS = (state: ExecutionState): ExecutionState => (state === 'pending' || state === 'queued' ? 'skipped' : 'cancelled');

export class DecommissionService {
  constructor(private readonly deps: DecommissionDeps) {}

  /**
   * For a bulk decommission, inside its unit of work (the devices are marked and their
   * credentials revoked there): ends these unfinished executions of theirs and tells the other
   * servers the devices changed. Answers the execution events and the devices whose executions
   * ended; call `afterBulk` with those after the commit.
   */
  async endIn(tx: StoreTransaction, deviceIds: string[], open: Execution[], actor: string, now: number): Promise<{ events: NewEvent[]; ended: string[] }> {
    const reason = `device decommissioned by ${actor}`;
    const changes: ExecutionChange[] = open.map((e) => ({ id: e.id, rolloutId: e.rolloutId, deviceId: e.deviceId, attempt: e.attempts, from: e.state, to: ENDS_AS(e.state), error: reason }));
    const changed = changes.length ? await tx.executions.transition(changes, now) : new Set<string>();
    const done = changes.filter((c) => changed.has(c.id));
    await this.deps.targetChanges.changedIn(tx, deviceIds);
    await this.deps.tokenRevocations.revokedIn(tx, deviceIds);
    return { events: done.map((c) => executionEvent(c, actor)), ended: [...new Set(done.map((c) => c.deviceId))] };
  }

  /** After a bulk decommission's commit: this server's caches, the registry totals, ended pushes. */
  afterBulk(deviceIds: string[], ended: string[]): void {
    this.deps.targetChanges.changedHere(deviceIds);
    this.deps.tokenRevocations.revokedHere(deviceIds);
    this.deps.registryChanged();
    for (const id of ended) this.deps.executionsEnded(id);
  }

  /**
   * Decommissions a device; NotFoundError when there is none. Repeating it is harmless: the
   * credentials are revoked again (one issued since ends too) and the device is answered as is.
   */
  async decommission(deviceId: string, actor: string): Promise<Device> {
    const reason = `device decommissioned by ${actor}`;
    const ended = await this.deps.transitions.atomically(async (tx) => {
      const now = this.deps.clock.now();
      const first = await tx.devices.decommission(deviceId, now);
      if (first === null) throw new NotFoundError('device', deviceId);
      const open = await tx.executions.unfinishedForDevice(deviceId);
      const changes: ExecutionChange[] = open.map((e) => ({ id: e.id, rolloutId: e.rolloutId, deviceId, attempt: e.attempts, from: e.state, to: ENDS_AS(e.state), error: reason }));
      const changed = changes.length ? await tx.executions.transition(changes, now) : new Set<string>();
      const done = changes.filter((c) => changed.has(c.id));
      const events = done.map((c) => executionEvent(c, actor));
      await this.deps.targetChanges.changedIn(tx, [deviceId]);
      await this.deps.tokenRevocations.revokedIn(tx, [deviceId]);
      const record = first ? [{ type: 'device.decommissioned', actor, deviceId, data: { executionsEnded: done.length } }] : [];
      return { result: done.length, events: [...record, ...events] };
    });
    this.deps.targetChanges.changedHere([deviceId]);
    this.deps.tokenRevocations.revokedHere([deviceId]);
    this.deps.registryChanged();
    if (ended > 0) this.deps.executionsEnded(deviceId);
    return (await this.deps.store.devices.get(deviceId))!;
  }
}
