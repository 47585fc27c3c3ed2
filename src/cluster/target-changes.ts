// Which devices' target state may have changed, told to this server's listeners and, over the
// cluster channel, to every other server's: the engine says so when it releases, cancels, pauses,
// finishes or rolls back work, enrollment and decommissioning when a device's standing changes.
import type { StoreTransaction } from '../store/index.js';
import { MAX_PAYLOAD_BYTES, topic, type ClusterChannel } from './channel.js';

export const TARGETS_TOPIC = topic<string[]>('targets');

export type TargetChangedListener = (deviceIds: string[]) => void;

export class TargetChanges {
  constructor(private readonly channel: ClusterChannel) {}

  subscribe(listener: TargetChangedListener): () => void {
    return this.channel.subscribe(TARGETS_TOPIC, (ids) => {
      if (Array.isArray(ids)) listener(ids);
    });
  }

  /** Listening resumed after a gap: changes in it are unknown, so caches must drop everything. */
  onReset(listener: () => void): () => void {
    return this.channel.onResume(listener);
  }

  /** Tells this server's listeners now and the other servers' (best effort). */
  changed(deviceIds: string[]): void {
    if (deviceIds.length === 0) return;
    if (!this.channel.reachesOtherServers) return this.channel.deliverHere(TARGETS_TOPIC, deviceIds);
    for (const chunk of idChunks(deviceIds)) this.channel.publish(TARGETS_TOPIC, chunk);
  }

  /**
   * Tells the other servers from inside `tx`: they hear it exactly when the transaction commits,
   * so a server killed right after committing cannot leave the others serving a stale target.
   * Call `changedHere` after the commit for this server's listeners.
   */
  async changedIn(tx: StoreTransaction, deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0 || !this.channel.reachesOtherServers) return;
    for (const chunk of idChunks(deviceIds)) await this.channel.publishIn(tx, TARGETS_TOPIC, chunk);
  }

  /** Tells this server's listeners only (the others were told by `changedIn`). */
  changedHere(deviceIds: string[]): void {
    if (deviceIds.length) this.channel.deliverHere(TARGETS_TOPIC, deviceIds);
  }
}

/** Id lists that each fit in one payload, in order. */
export function* idChunks(ids: string[]): Generator<string[]> {
  let batch: string[] = [];
  let size = 2;
  for (const id of ids) {
    // An id's JSON: its bytes (at most 6 per UTF-16 unit, escaped), quotes and a comma.
    const cost = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (size + cost > MAX_PAYLOAD_BYTES && batch.length) {
      yield batch;
      batch = [];
      size = 2;
    }
    batch.push(id);
    size += cost;
  }
  if (batch.length) yield batch;
}
