// Keeps each server's in-memory caches right when several servers share one PostgreSQL database,
// all wired here once: token revocations (the cluster channel's device-tokens topic) drop the
// devices' cached tokens; registry, enrollment and token events of any server (the cluster-wide event feed)
// drop cached target states, hawkBit controllers and tokens; and a channel that listens again after
// a gap drops everything, since what it missed is unknown. On one server it costs a filter over the
// events it already publishes.
import type { EventRecord } from '../core/index.js';

/** Events after which a device's served target state may differ (registry edits, enrollment). */
const TARGET_EVENTS = new Set(['device.updated', 'device.deleted', 'device.decommissioned', 'device.enrolled', 'device.accepted', 'device.rejected']);
/** Events after which a cached bearer token may no longer be valid. */
const TOKEN_EVENTS = new Set(['token.revoked', 'device.token-revoked', 'device.rejected', 'device.deleted', 'device.decommissioned']);

/** What the cache sync follows and the caches it invalidates. */
export interface CacheSyncDeps {
  feed: { subscribe(listener: (events: EventRecord[]) => void): () => void };
  /** Devices whose tokens were revoked or replaced. */
  tokenRevocations: { subscribe(listener: (deviceIds: string[]) => void): () => void };
  /** The channel listens again after a gap. */
  onReset(listener: () => void): () => void;
  /** Cached target states (and what else is cached per device, such as hawkBit controllers). */
  targets: { invalidate(deviceIds: string[]): void; clear(): void };
  auth: { invalidate(): void; invalidateDevices(deviceIds: string[]): void };
}

/** Follows the feed and the channel until the returned function is called. */
export function syncCaches(deps: CacheSyncDeps): () => void {
  const stops = [
    deps.feed.subscribe((records) => {
      const devices: string[] = [];
      let tokens = false;
      let bulk = false;
      for (const r of records) {
        if (r.deviceId && TARGET_EVENTS.has(r.type)) devices.push(r.deviceId);
        if (TOKEN_EVENTS.has(r.type)) tokens = true;
        // A bulk action publishes its one audit event here, not one per device.
        if (r.type.startsWith('devices.bulk-')) bulk = true;
      }
      if (bulk) deps.targets.clear();
      else if (devices.length) deps.targets.invalidate(devices);
      if (tokens) deps.auth.invalidate();
    }),
    deps.tokenRevocations.subscribe((ids) => deps.auth.invalidateDevices(ids)),
    deps.onReset(() => {
      deps.targets.clear();
      deps.auth.invalidate();
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
