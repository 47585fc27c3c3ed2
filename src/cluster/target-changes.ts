// Which devices' target state may have changed, told to this server's listeners and, over the
// cluster channel, to every other server's: the engine says so when it releases, cancels, pauses,
// finishes or rolls back work, enrollment and decommissioning when a device's standing changes.
import type { StoreTransaction } from '../store/index.js';
import { topic, type ClusterChannel } from './channel.js';
import { DeviceTopic } from './device-topic.js';

export const TARGETS_TOPIC = topic<string[]>('targets');

export type TargetChangedListener = (deviceIds: string[]) => void;

export class TargetChanges {
  private readonly topic: DeviceTopic;

  constructor(private readonly channel: ClusterChannel) {
    this.topic = new DeviceTopic(channel, TARGETS_TOPIC);
  }

  subscribe(listener: TargetChangedListener): () => void {
    return this.topic.subscribe(listener);
  }

  /** Listening resumed after a gap: changes in it are unknown, so caches must drop everything. */
  onReset(listener: () => void): () => void {
    return this.channel.onResume(listener);
  }

  /** Tells this server's listeners now and the other servers' (best effort). */
  changed(deviceIds: string[]): void {
    this.topic.tell(deviceIds);
  }

  /**
   * Tells the other servers from inside `tx`: they hear it exactly when the transaction commits,
   * so a server killed right after committing cannot leave the others serving a stale target.
   * Call `changedHere` after the commit for this server's listeners.
   */
  changedIn(tx: StoreTransaction, deviceIds: string[]): Promise<void> {
    return this.topic.tellIn(tx, deviceIds);
  }

  /** Tells this server's listeners only (the others were told by `changedIn`). */
  changedHere(deviceIds: string[]): void {
    this.topic.tellHere(deviceIds);
  }
}
