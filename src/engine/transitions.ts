// Writes execution transitions and their events in one transaction, then publishes the events.
// Every engine, service and device-report write of an execution state goes through here.
import type { Clock, ExecutionState, NewEvent } from '../core/index.js';
import type { EventLog, MovedExecution, Store, StoreTransaction, TransitionItem } from '../store/index.js';

/** A transition with what its event needs. */
export interface ExecutionChange extends TransitionItem {
  rolloutId: string;
  deviceId: string;
  attempt: number;
}

export function executionEvent(change: { id: string; rolloutId: string; deviceId: string; from: ExecutionState; to: ExecutionState; attempt: number; error?: string | null; bytes?: number; bytesFetched?: number; bytesReused?: number }, actor: string): NewEvent {
  const data: Record<string, unknown> = { from: change.from, to: change.to, attempt: change.attempt, error: change.error ?? null, bytes: change.bytes ?? null };
  // Only where known, so events of transfers without them keep their shape.
  if (change.bytesFetched !== undefined) data.bytesFetched = change.bytesFetched;
  if (change.bytesReused !== undefined) data.bytesReused = change.bytesReused;
  return { type: `execution.${change.to}`, actor, rolloutId: change.rolloutId, deviceId: change.deviceId, executionId: change.id, data };
}

export function movedEvents(rows: MovedExecution[], from: ExecutionState, to: ExecutionState, actor: string, error: string | null = null): NewEvent[] {
  return rows.map((r) => executionEvent({ id: r.id, rolloutId: r.rolloutId, deviceId: r.deviceId, from, to, attempt: r.attempts, error }, actor));
}

export class Transitions {
  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  /**
   * Runs `work` in a unit of work; the events it returns are appended in the same transaction and
   * published after the commit, so listeners never see a change that was rolled back.
   */
  async atomically<T>(work: (tx: StoreTransaction) => Promise<{ result: T; events: NewEvent[] }>): Promise<T> {
    const { result, records } = await this.store.transaction(async (tx) => {
      const { result, events } = await work(tx);
      const records = await this.events.append(events, tx);
      return { result, records };
    });
    this.events.publish(records);
    return result;
  }

  /**
   * Applies changes inside a unit of work the caller runs through `atomically` (a batch of device
   * reports): answers the ones that happened and their events (each change's actor, or one for
   * all), for the caller to return to it.
   */
  async applyIn<C extends ExecutionChange>(tx: StoreTransaction, changes: C[], actor: string | ((change: C) => string)): Promise<{ changed: C[]; events: NewEvent[] }> {
    const ids = changes.length ? await tx.executions.transition(changes, this.clock.now()) : new Set<string>();
    const changed = changes.filter((c) => ids.has(c.id));
    return { changed, events: changed.map((c) => executionEvent(c, typeof actor === 'string' ? actor : actor(c))) };
  }

  /** Applies changes (guarded by their `from` state and lease); answers the ones that happened. */
  async apply(changes: ExecutionChange[], actor: string, extra: (tx: StoreTransaction, changed: ExecutionChange[]) => Promise<void> = async () => {}): Promise<ExecutionChange[]> {
    if (changes.length === 0) return [];
    return this.atomically(async (tx) => {
      const { changed, events } = await this.applyIn(tx, changes, actor);
      await extra(tx, changed);
      return { result: changed, events };
    });
  }
}
