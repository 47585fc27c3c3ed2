// The offline sweep marks every silent device, in bounded batches, with one event per device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, validateDevice } from '../core/index.js';
import { EventLog, openStore, type Store } from '../store/index.js';
import { PresenceService } from './presence.service.js';

describe('presence offline sweep', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ sqliteFile: ':memory:' });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('marks a fleet that went silent at once, batch after batch, each device once', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 27, 12));
    const silent = Array.from({ length: 4_500 }, (_, i) => validateDevice({ id: `s-${i}`, status: 'online', lastSeen: new Date(clock.now() - 3_600_000).toISOString() }));
    const fresh = validateDevice({ id: 'fresh', status: 'online', lastSeen: new Date(clock.now() - 1_000).toISOString() });
    await store.devices.upsertMany([...silent, fresh], clock.now());
    const events = new EventLog(store.events, clock);
    const presence = new PresenceService({ store, events, clock, pollIntervalSeconds: 60, offlineAfterMissedPolls: 3 });
    const marked = await presence.sweep();
    expect(new Set(marked).size).toBe(4_500);
    expect(marked).not.toContain('fresh');
    expect(await store.devices.count({ status: ['offline'] })).toBe(4_500);
    expect((await store.events.list({ type: ['device.offline'], limit: 10_000 })).length).toBe(4_500);
    expect(await presence.sweep()).toEqual([]);
  });
});
