// Device ids told on one topic of the cluster channel: to this server's listeners and to every
// other server's, either best effort (`tell`) or exactly when a transaction commits (`tellIn`, then
// `tellHere` after the commit). Target changes and token revocations are two such topics.
import type { StoreTransaction } from '../store/index.js';
import { MAX_PAYLOAD_BYTES, type ClusterChannel, type Topic } from './channel.js';

export class DeviceTopic {
  constructor(
    private readonly channel: ClusterChannel,
    private readonly topic: Topic<string[]>,
  ) {}

  subscribe(listener: (deviceIds: string[]) => void): () => void {
    return this.channel.subscribe(this.topic, (ids) => {
      if (Array.isArray(ids)) listener(ids);
    });
  }

  /** Tells this server's listeners now and the other servers' (best effort). */
  tell(deviceIds: string[]): void {
    if (deviceIds.length === 0) return;
    if (!this.channel.reachesOtherServers) return this.channel.deliverHere(this.topic, deviceIds);
    for (const chunk of idChunks(deviceIds)) this.channel.publish(this.topic, chunk);
  }

  /**
   * Tells the other servers from inside `tx`: they hear it exactly when the transaction commits,
   * so a server killed right after committing cannot leave the others with a stale cache. Call
   * `tellHere` after the commit for this server's listeners.
   */
  async tellIn(tx: StoreTransaction, deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0 || !this.channel.reachesOtherServers) return;
    for (const chunk of idChunks(deviceIds)) await this.channel.publishIn(tx, this.topic, chunk);
  }

  /** Tells this server's listeners only (the others were told by `tellIn`). */
  tellHere(deviceIds: string[]): void {
    if (deviceIds.length) this.channel.deliverHere(this.topic, deviceIds);
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
