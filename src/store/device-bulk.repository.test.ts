// Bulk actions in the store, on SQLite and PostgreSQL: the selection is frozen once (so a change
// to the very column it was selected by still touches the devices counted), tags change in the
// device's JSON map and in the tag index together (keys with "." and "/" too), each device gets
// one history event, and the selection is gone after the run.
import { describe, expect, it } from 'vitest';
import { parseDeviceFilter, type DeviceInput } from '../core/index.js';
import type { Store } from './index.js';
import { storeTargets, useStore } from '../testing/stores.js';

const device = (id: string, tags: Record<string, string>): DeviceInput => ({ id, name: id, address: null, mode: 'pull', status: 'online', lastSeen: null, version: '1.0.0', location: null, timezone: 'UTC', tags, metadata: {} });

describe.each(storeTargets)('device bulk repository ($name)', (target) => {
  let store: Store;
  const state = useStore(target, (s) => (store = s));
  const now = Date.parse('2026-12-01T00:00:00Z');

  it('tags, untags and relocates a frozen selection set-based, with one history event per device', async (ctx) => {
    if (state.reason) return ctx.skip(state.reason);
    await store.devices.upsertMany([device('b-1', { ring: 'beta', 'site.name/x': 'n' }), device('b-2', { ring: 'beta' }), device('b-3', { ring: 'prod' })], now);
    const tag = await store.transaction(async (tx) => {
      const n = await tx.deviceBulk.select('run-1', parseDeviceFilter({ tag: 'ring=beta' }));
      await tx.deviceBulk.apply('run-1', { action: 'tag', tags: { wave: '1', 'site.name/x': 'm' } }, now);
      const logged = await tx.deviceBulk.history('run-1', { type: 'device.updated', actor: 'test', data: { bulk: 1 } }, now);
      expect(await tx.deviceBulk.deviceIds('run-1')).toEqual(['b-1', 'b-2']);
      await tx.deviceBulk.release('run-1');
      return { n, logged };
    });
    expect(tag).toEqual({ n: 2, logged: 2 });
    expect((await store.devices.get('b-1'))!.tags).toEqual({ ring: 'beta', 'site.name/x': 'm', wave: '1' });
    expect((await store.devices.list(parseDeviceFilter({ tag: ['wave=1', 'site.name/x=m'] }), { limit: 10 })).items.map((d) => d.id)).toEqual(['b-1', 'b-2']);
    expect((await store.events.list({ deviceId: 'b-2', limit: 10 })).map((e) => [e.type, e.actor, e.data])).toEqual([['device.updated', 'test', { bulk: 1 }]]);

    // Selected by the tag it removes: the selection was frozen before the change.
    await store.transaction(async (tx) => {
      expect(await tx.deviceBulk.select('run-2', parseDeviceFilter({ tag: 'wave=1' }))).toBe(2);
      await tx.deviceBulk.apply('run-2', { action: 'untag', keys: ['wave', 'ring'] }, now);
      await tx.deviceBulk.apply('run-2', { action: 'set-location', location: 'Dock 1' }, now);
      await tx.deviceBulk.release('run-2');
    });
    expect((await store.devices.get('b-2'))!).toMatchObject({ tags: { 'site.name/x': 'm' }, location: 'Dock 1' });
    expect(await store.devices.count(parseDeviceFilter({ tag: 'ring=beta' }))).toBe(0);
    expect(await store.devices.count(parseDeviceFilter({ tag: 'ring=prod', location: 'Dock 1' }))).toBe(0);
    expect(await store.transaction((tx) => tx.deviceBulk.deviceIds('run-2'))).toEqual([]);
  });

  it('sets and clears the device type of a frozen selection, which the deviceType filter then finds', async (ctx) => {
    if (state.reason) return ctx.skip(state.reason);
    await store.devices.upsertMany([device('t-1', { hw: 'pi' }), device('t-2', { hw: 'pi' }), device('t-3', { hw: 'x86' })], now);
    const typed = await store.transaction(async (tx) => {
      const n = await tx.deviceBulk.select('run-t', parseDeviceFilter({ tag: 'hw=pi' }));
      await tx.deviceBulk.apply('run-t', { action: 'set-device-type', deviceType: 'rpi4' }, now);
      await tx.deviceBulk.release('run-t');
      return n;
    });
    expect(typed).toBe(2);
    expect((await store.devices.list(parseDeviceFilter({ deviceType: 'rpi4' }), { limit: 10 })).items.map((d) => d.id)).toEqual(['t-1', 't-2']);
    expect((await store.devices.get('t-3'))!.deviceType).toBeNull();
    await store.transaction(async (tx) => {
      await tx.deviceBulk.select('run-u', parseDeviceFilter({ ids: ['t-2'] }));
      await tx.deviceBulk.apply('run-u', { action: 'set-device-type', deviceType: null }, now);
      await tx.deviceBulk.release('run-u');
    });
    expect((await store.devices.get('t-2'))!.deviceType).toBeNull();
    expect(await store.devices.count(parseDeviceFilter({ deviceType: 'rpi4' }))).toBe(1);
  });

  it('decommissions a selection: marks the devices, revokes their tokens, answers their unfinished executions', async (ctx) => {
    if (state.reason) return ctx.skip(state.reason);
    await store.devices.upsertMany([device('d-1', {}), device('d-2', {})], now);
    const { token } = await store.tokens.create({ kind: 'device', deviceId: 'd-1', name: 'd-1' }, now);
    const open = await store.transaction(async (tx) => {
      await tx.deviceBulk.select('run-3', parseDeviceFilter({ ids: ['d-1', 'b-3'] }));
      const open = await tx.deviceBulk.decommission('run-3', now);
      await tx.deviceBulk.release('run-3');
      return open;
    });
    expect(open).toEqual([]);
    expect((await store.devices.get('d-1'))!.decommissionedAt).not.toBeNull();
    expect((await store.devices.get('d-2'))!.decommissionedAt).toBeNull();
    expect(await store.tokens.findActive(token, now + 1)).toBeNull();
  });
});
