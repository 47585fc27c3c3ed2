// The cluster channel a store calls for: over PostgreSQL's LISTEN/NOTIFY when the store has it,
// in process otherwise (SQLite: one server).
import type { Store } from '../store/index.js';
import type { ChannelLog, ClusterChannel } from './channel.js';
import { InProcessChannel } from './in-process-channel.js';
import { PostgresChannel } from './postgres-channel.js';

export function openChannel(store: Pick<Store, 'notifications'>, log?: ChannelLog): ClusterChannel {
  return store.notifications ? new PostgresChannel(store.notifications, log) : new InProcessChannel(undefined, log);
}
