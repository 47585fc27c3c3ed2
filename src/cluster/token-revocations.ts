// Which devices' tokens were revoked or replaced, told to this server's listeners and, over the
// cluster channel, to every other server's, so each drops those devices' cached tokens. Apart
// from target changes: a rollout releasing or finishing a device's work leaves its token alone,
// and a fleet-wide rollout would otherwise cost every device a token query on its next requests.
import type { StoreTransaction } from '../store/index.js';
import { topic, type ClusterChannel } from './channel.js';
import { idChunks } from './target-changes.js';

export const TOKENS_TOPIC = topic<string[]>('device-tokens');

export class TokenRevocations {
  constructor(private readonly channel: ClusterChannel) {}

  subscribe(listener: (deviceIds: string[]) => void): () => void {
    return this.channel.subscribe(TOKENS_TOPIC, (ids) => {
      if (Array.isArray(ids)) listener(ids);
    });
  }

  /** Tells this server's listeners now and the other servers' (best effort: a token query after the cache's TTL is the backstop). */
  revoked(deviceIds: string[]): void {
    if (deviceIds.length === 0) return;
    if (!this.channel.reachesOtherServers) return this.channel.deliverHere(TOKENS_TOPIC, deviceIds);
    for (const chunk of idChunks(deviceIds)) this.channel.publish(TOKENS_TOPIC, chunk);
  }

  /** Tells the other servers from inside `tx` (they hear it when it commits); call `revokedHere` after the commit. */
  async revokedIn(tx: StoreTransaction, deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0 || !this.channel.reachesOtherServers) return;
    for (const chunk of idChunks(deviceIds)) await this.channel.publishIn(tx, TOKENS_TOPIC, chunk);
  }

  /** Tells this server's listeners only (the others were told by `revokedIn`). */
  revokedHere(deviceIds: string[]): void {
    if (deviceIds.length) this.channel.deliverHere(TOKENS_TOPIC, deviceIds);
  }
}
