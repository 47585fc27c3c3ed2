// Contract suite for the device registry's persistence, run on SQLite and on PostgreSQL.
import { describe, expect, it } from 'vitest';
import { parseDeviceFilter, validateDevice, type DeviceInput } from '../core/index.js';
import { storeTargets, useStore } from '../testing/stores.js';
import type { Store } from './index.js';

const device = (id: string, extra: Record<string, unknown> = {}): DeviceInput => validateDevice({ id, ...extra });

for (const target of storeTargets) {
  describe(`device repository on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));

    it('creates, reads, updates and decommissions (the row stays, out of every filter but decommissioned=true)', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const created = await store.devices.create(device('crud-1', { tags: { region: 'west' }, metadata: { n: 1 } }), 1000);
      expect(created).toMatchObject({ id: 'crud-1', tags: { region: 'west' }, metadata: { n: 1 } });
      await expect(store.devices.create(device('crud-1'), 1000)).rejects.toThrow(/already exists/);
      const updated = await store.devices.update(device('crud-1', { name: 'renamed', tags: { region: 'east' } }), 2000);
      expect(updated).toMatchObject({ name: 'renamed', tags: { region: 'east' }, createdAt: new Date(1000).toISOString(), updatedAt: new Date(2000).toISOString() });
      expect(await store.devices.count(parseDeviceFilter({ tag: 'region:west' }))).toBe(0);
      expect(await store.devices.update(device('missing'), 1)).toBeNull();
      expect(await store.devices.decommission('crud-1', 3000)).toBe(true);
      expect(await store.devices.decommission('crud-1', 4000)).toBe(false);
      expect(await store.devices.decommission('missing', 4000)).toBeNull();
      expect(await store.devices.get('crud-1')).toMatchObject({ id: 'crud-1', decommissionedAt: new Date(3000).toISOString() });
      expect(await store.devices.count(parseDeviceFilter({}))).toBe(0);
      expect(await store.devices.count(parseDeviceFilter({ decommissioned: 'true' }))).toBe(1);
    });

    it('keeps the device type through create, update, bulk upsert and protocol reports, and filters by it', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.create(device('dt-1', { deviceType: 'rpi4' }), 1000);
      await store.devices.upsertMany([device('dt-2', { deviceType: 'rpi3' }), device('dt-3')], 1000);
      expect((await store.devices.get('dt-1'))?.deviceType).toBe('rpi4');
      expect((await store.devices.get('dt-3'))?.deviceType).toBeNull();
      const ofType = async (deviceType: string) => (await store.devices.list(parseDeviceFilter({ deviceType, q: 'dt-' }), { limit: 10 })).items.map((d) => d.id);
      expect(await ofType('rpi3,rpi4')).toEqual(['dt-1', 'dt-2']);
      await store.devices.setDeviceType('dt-3', 'rpi4', 2000);
      expect(await ofType('rpi4')).toEqual(['dt-1', 'dt-3']);
      expect((await store.devices.get('dt-3'))?.updatedAt).toBe(new Date(2000).toISOString());
      // The same report again writes nothing (updatedAt stays).
      await store.devices.setDeviceType('dt-3', 'rpi4', 3000);
      expect((await store.devices.get('dt-3'))?.updatedAt).toBe(new Date(2000).toISOString());
      await store.devices.update(device('dt-1', { deviceType: 'imx8' }), 4000);
      expect(await ofType('imx8')).toEqual(['dt-1']);
      expect(await store.devices.count(parseDeviceFilter({ deviceType: 'rpi4', q: 'dt-' }))).toBe(1);
    });

    it('filters with AND across status, location, version range, tags, q and last seen', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const fleet: DeviceInput[] = [];
      for (let i = 0; i < 60; i++) {
        fleet.push(
          device(`flt-${String(i).padStart(3, '0')}`, {
            name: i % 10 === 0 ? `Flagship ${i}` : `Store ${i}`,
            status: ['online', 'offline', 'unknown'][i % 3],
            location: ['Denver', 'Austin'][i % 2],
            version: ['1.9.0', '2.0.0', '2.0.0-rc.1', '2.4.1', 'custom'][i % 5],
            tags: { region: i % 4 === 0 ? 'west' : 'east', fleet: 'f' },
            lastSeen: new Date(Date.UTC(2026, 0, 1 + (i % 30))).toISOString(),
          }),
        );
      }
      await store.devices.upsertMany(fleet, 5000);
      const ids = async (query: Record<string, unknown>) => (await store.devices.list(parseDeviceFilter({ ...query, tag: ['fleet:f', ...((query.tag as string[]) ?? [])] }), { limit: 1000 })).items.map((d) => d.id);
      const expectSame = async (query: Record<string, unknown>, predicate: (d: DeviceInput, i: number) => boolean) => {
        const expected = fleet.filter(predicate).map((d) => d.id);
        expect(await ids(query)).toEqual(expected);
        expect(await store.devices.count(parseDeviceFilter({ ...query, tag: ['fleet:f', ...((query.tag as string[]) ?? [])] }))).toBe(expected.length);
      };
      await expectSame({ status: 'online', tag: ['region:west'], version: '<2.0.0' }, (d) => d.status === 'online' && d.tags.region === 'west' && d.version === '1.9.0');
      await expectSame({ version: '>=2.0.0 <3' }, (d) => d.version === '2.0.0' || d.version === '2.4.1');
      await expectSame({ version: 'custom' }, (d) => d.version === 'custom');
      await expectSame({ location: 'Denver', status: 'offline,unknown' }, (d) => d.location === 'Denver' && d.status !== 'online');
      await expectSame({ q: 'FLAGSHIP' }, (d) => d.name.startsWith('Flagship'));
      await expectSame({ q: '%' }, () => false);
      await expectSame({ lastSeenBefore: '2026-01-05T00:00:00Z', lastSeenAfter: '2026-01-02T00:00:00Z' }, (d) => d.lastSeen! < '2026-01-05T00:00:00.000Z' && d.lastSeen! > '2026-01-02T00:00:00.000Z');
    });

    it('pages with a cursor that stays correct while devices are added', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany(Array.from({ length: 25 }, (_, i) => device(`page-${String(i * 2).padStart(3, '0')}`, { tags: { set: 'paging' } })), 1);
      const filter = parseDeviceFilter({ tag: 'set:paging' });
      const seen: string[] = [];
      let after: string | null = null;
      let round = 0;
      for (;;) {
        const page = await store.devices.list(filter, { limit: 10, after });
        seen.push(...page.items.map((d) => d.id));
        // Devices added behind and ahead of the cursor between pages.
        if (round++ === 0) await store.devices.upsertMany([device('page-001', { tags: { set: 'paging' } }), device('page-047', { tags: { set: 'paging' } })], 2);
        if (!page.nextCursor) break;
        after = page.items.at(-1)!.id;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toContain('page-047');
      expect(seen).not.toContain('page-001');
      expect(seen).toEqual([...seen].sort());
    });

    it('upserts: re-importing the same ids updates them and replaces their tags', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const first = await store.devices.upsertMany([device('up-1', { tags: { a: '1' } }), device('up-2')], 10);
      expect(first).toEqual({ created: 2, updated: 0 });
      const second = await store.devices.upsertMany([device('up-1', { tags: { b: '2' }, version: '3.0.0' }), device('up-3')], 20);
      expect(second).toEqual({ created: 1, updated: 1 });
      expect(await store.devices.get('up-1')).toMatchObject({ tags: { b: '2' }, version: '3.0.0', createdAt: new Date(10).toISOString() });
      expect(await store.devices.count(parseDeviceFilter({ tag: 'a:1' }))).toBe(0);
    });

    it('records heartbeats and marks silent devices offline', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany([device('hb-1'), device('hb-2')], 0);
      await store.devices.touch('hb-1', 1_000);
      await store.devices.touch('hb-2', 9_000);
      expect(await store.devices.get('hb-1')).toMatchObject({ status: 'online', lastSeen: new Date(1000).toISOString() });
      expect(await store.devices.markOffline(5_000, 10_000)).toEqual(['hb-1']);
      expect((await store.devices.get('hb-1'))?.status).toBe('offline');
      expect((await store.devices.get('hb-2'))?.status).toBe('online');
    });

    it('records the versions devices run: one statement per version, only changed rows, unknownOnly keeps known ones, inside a unit of work', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany([device('ver-1', { version: '1.0.0' }), device('ver-2', { version: '1.0.0' }), device('ver-3')], 100);
      await store.devices.setVersions([{ deviceId: 'ver-1', version: '2.0.0' }, { deviceId: 'ver-2', version: '2.0.0' }, { deviceId: 'ver-3', version: '10.1.0' }, { deviceId: 'no-such-device', version: '2.0.0' }], 200);
      expect(await store.devices.get('ver-1')).toMatchObject({ version: '2.0.0', updatedAt: new Date(200).toISOString() });
      expect(await store.devices.get('ver-3')).toMatchObject({ version: '10.1.0' });
      // The version key follows (range filters compare it, 10.1.0 above 2.0.0).
      expect(await store.devices.count(parseDeviceFilter({ version: '>=3.0.0', ids: ['ver-1', 'ver-2', 'ver-3'] }))).toBe(1);
      // The same version again changes nothing, not even the time of the last change.
      await store.devices.setVersions([{ deviceId: 'ver-1', version: '2.0.0' }], 300);
      expect((await store.devices.get('ver-1'))?.updatedAt).toBe(new Date(200).toISOString());
      await store.devices.upsertMany([device('ver-4')], 400);
      await store.devices.setVersions([{ deviceId: 'ver-1', version: 'hint' }, { deviceId: 'ver-4', version: 'hint' }], 500, { unknownOnly: true });
      expect((await store.devices.get('ver-1'))?.version).toBe('2.0.0');
      expect((await store.devices.get('ver-4'))?.version).toBe('hint');
      await expect(
        store.transaction(async (tx) => {
          await tx.devices.setVersions([{ deviceId: 'ver-2', version: '3.0.0' }], 600);
          expect((await tx.devices.get('ver-2'))?.version).toBe('3.0.0');
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await store.devices.get('ver-2'))?.version).toBe('2.0.0');
    });

    it('records the protocol a device speaks, native until an adapter claims it', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany([device('proto-1')], 1);
      expect(await store.devices.protocol('proto-1')).toBe('native');
      await store.devices.setProtocol('proto-1', 'mender');
      expect(await store.devices.protocol('proto-1')).toBe('mender');
      expect(await store.devices.protocol('no-such-device')).toBeNull();
    });

    it('gives a named lock to one owner at a time until it expires', async (ctx) => {
      if (skip.reason) return ctx.skip();
      expect(await store.locks.acquire('job', 'a', 1_000, 500)).toBe(true);
      expect(await store.locks.acquire('job', 'b', 1_200, 500)).toBe(false);
      expect(await store.locks.acquire('job', 'a', 1_400, 500)).toBe(true);
      expect(await store.locks.acquire('job', 'b', 2_000, 500)).toBe(true);
    });
  });
}
