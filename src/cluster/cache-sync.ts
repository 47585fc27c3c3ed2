// Keeps each server's in-memory caches right when several servers share one PostgreSQL database:
// the cluster-wide event feed (local events plus other servers' events, via LISTEN/NOTIFY) says
// which devices' target states and which cached tokens may be stale. On one server it costs a
// filter over the events it already publishes.
import type { EventRecord } from '../core/index.js';

/** Events after which a device's served target state may differ (registry edits, enrollment). */
const TARGET_EVENTS = new Set(['device.updated', 'device.deleted', 'device.decommissioned', 'device.enrolled', 'device.accepted', 'device.rejected']);
/** Events after which a cached bearer token may no longer be valid. */
const TOKEN_EVENTS = new Set(['token.revoked', 'device.token-revoked', 'device.rejected', 'device.deleted', 'device.decommissioned']);

/** What the cache sync needs: a feed to follow and the caches to invalidate. */
export interface CacheSyncDeps {
  feed: { subscribe(listener: (events: EventRecord[]) => void): () => void };
  targets: { invalidate(deviceIds: string[]): void };
  auth: { invalidate(): void };
}

/** Follows the feed until the returned function is called. */
export function syncCachesWithFeed(deps: CacheSyncDeps): () => void {
  return deps.feed.subscribe((records) => {
    const devices: string[] = [];
    let tokens = false;
    for (const r of records) {
      if (r.deviceId && TARGET_EVENTS.has(r.type)) devices.push(r.deviceId);
      if (TOKEN_EVENTS.has(r.type)) tokens = true;
    }
    if (devices.length) deps.targets.invalidate(devices);
    if (tokens) deps.auth.invalidate();
  });
}
