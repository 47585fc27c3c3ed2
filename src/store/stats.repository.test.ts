// Contract tests of the grouped counts and the health read, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceInput } from '../testing/engine.js';
import { storeTargets } from '../testing/stores.js';
import { listMigrations, type Store } from './index.js';

for (const target of storeTargets) {
  describe(`stats repository on ${target.name}`, () => {
    let store: Store;
    let skip: string | null = null;
    beforeAll(async () => {
      skip = await target.skip();
      if (skip) return;
      store = await target.open();
      await store.devices.create(deviceInput('s-1', { version: '1.0.0', location: 'lab' }), 100);
      await store.devices.create(deviceInput('s-2', { version: '2.0.0', location: 'lab', status: 'offline' }), 100);
      await store.devices.create(deviceInput('s-3', { version: '2.0.0', location: null }), 100);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('counts a column by value, null as none, and lists the most common values first', async (ctx) => {
      if (skip) return ctx.skip();
      expect(await store.stats.countBy({ table: 'devices', column: 'status' })).toEqual({ online: 2, offline: 1 });
      expect(await store.stats.countBy({ table: 'devices', column: 'location' })).toEqual({ lab: 2, none: 1 });
      expect(await store.stats.countBy({ table: 'executions', column: 'state' })).toEqual({});
      expect(await store.stats.topDeviceValues('version', 1)).toEqual([{ value: '2.0.0', count: 2 }]);
      expect(await store.stats.topDeviceValues('location', 5)).toEqual([{ value: 'lab', count: 2 }, { value: null, count: 1 }]);
    });

    it("counts a rollout's events of the given types per device", async (ctx) => {
      if (skip) return ctx.skip();
      await store.events.append(
        [
          { type: 'execution.succeeded', actor: 'engine', rolloutId: 'r-1', deviceId: 's-1' },
          { type: 'execution.failed', actor: 'engine', rolloutId: 'r-1', deviceId: 's-1' },
          { type: 'execution.succeeded', actor: 'engine', rolloutId: 'r-1', deviceId: 's-2' },
          { type: 'execution.delivering', actor: 'engine', rolloutId: 'r-1', deviceId: 's-3' },
          { type: 'execution.succeeded', actor: 'engine', rolloutId: 'r-2', deviceId: 's-3' },
        ],
        200,
      );
      expect(await store.stats.eventsPerDevice('r-1', ['execution.succeeded', 'execution.failed'])).toEqual(new Map([['s-1', 2], ['s-2', 1]]));
    });

    it('reads the applied migrations: every one this build knows', async (ctx) => {
      if (skip) return ctx.skip();
      expect([...(await store.stats.appliedMigrations())].sort()).toEqual(listMigrations(store.dialect).map((m) => m.version).sort());
    });
  });
}
