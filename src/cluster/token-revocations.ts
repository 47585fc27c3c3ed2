// Which devices' tokens were revoked or replaced, told to this server's listeners and, over the
// cluster channel, to every other server's, so each drops those devices' cached tokens. Apart
// from target changes: a rollout releasing or finishing a device's work leaves its token alone,
// and a fleet-wide rollout would otherwise cost every device a token query on its next requests.
import type { StoreTransaction } from '../store/index.js';
import { topic, type ClusterChannel } from './channel.js';
import { DeviceTopic } from './device-topic.js';

export const TOKENS_TOPIC = topic<string[]>('device-tokens');

export class TokenRevocations {
  private readonly topic: DeviceTopic;

  constructor(channel: ClusterChannel) {
    this.topic = new DeviceTopic(channel, TOKENS_TOPIC);
  }

  subscribe(listener: (deviceIds: string[]) => void): () => void {
    return this.topic.subscribe(listener);
  }

  /** Tells this server's listeners now and the other servers' (best effort: a token query after the cache's TTL is the backstop). */
  revoked(deviceIds: string[]): void {
    this.topic.tell(deviceIds);
  }

  /** Tells the other servers from inside `tx` (they hear it when it commits); call `revokedHere` after the commit. */
  revokedIn(tx: StoreTransaction, deviceIds: string[]): Promise<void> {
    return this.topic.tellIn(tx, deviceIds);
  }

  /** Tells this server's listeners only (the others were told by `revokedIn`). */
  revokedHere(deviceIds: string[]): void {
    this.topic.tellHere(deviceIds);
  }
}
