// Contract tests of the append-only event log, on SQLite and PostgreSQL: ids grow with each
// append, reads filter by rollout, device, type (exact or prefix) and time and page by id both ways.
import { describe, expect, it } from 'vitest';
import { storeTargets, useStore } from '../testing/stores.js';
import type { Store } from './index.js';

for (const target of storeTargets) {
  describe(`event repository on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));

    it('appends events and reads them by rollout, device, type and id', async (ctx) => {
      if (skip.reason) return ctx.skip();
      expect(await store.events.lastId()).toBe(0);
      const appended = await store.events.append([
        { type: 'device.created', deviceId: 'ev-1' },
        { type: 'execution.succeeded', deviceId: 'ev-1', rolloutId: 'r1', data: { bytes: 5 } },
        { type: 'execution.failed', deviceId: 'ev-2', rolloutId: 'r1', executionId: 'x1', actor: 'engine' },
      ], 1_000);
      expect(appended.map((e) => e.id)).toEqual([...appended.map((e) => e.id)].sort((a, b) => a - b));
      expect(appended[2]).toEqual({ id: appended[2]!.id, ts: new Date(1_000).toISOString(), type: 'execution.failed', actor: 'engine', rolloutId: 'r1', deviceId: 'ev-2', executionId: 'x1', data: {} });
      expect(await store.events.lastId()).toBe(appended[2]!.id);
      expect((await store.events.list({ rolloutId: 'r1', limit: 10 })).map((e) => e.type)).toEqual(['execution.failed', 'execution.succeeded']);
      expect((await store.events.list({ type: ['execution.*'], deviceId: 'ev-1', limit: 10 }))[0]?.data).toEqual({ bytes: 5 });
      expect((await store.events.list({ afterId: appended[0]!.id, limit: 10 })).map((e) => e.type)).toEqual(['execution.succeeded', 'execution.failed']);
      expect((await store.events.list({ beforeId: appended[2]!.id, limit: 1 })).map((e) => e.type)).toEqual(['execution.succeeded']);
    });

    it('matches a type prefix as text: % and _ are characters and case counts', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.events.append([{ type: 'pfx_a.one' }, { type: 'pfxXa.two' }, { type: 'PFX_A.three' }, { type: 'pfx_a' }], 2_000);
      expect((await store.events.list({ type: ['pfx_a.*'], limit: 10 })).map((e) => e.type)).toEqual(['pfx_a.one']);
      expect((await store.events.list({ type: ['pfx%'], limit: 10 }))).toEqual([]);
      expect((await store.events.list({ type: ['pfx_a', 'pfxXa.*'], limit: 10 })).map((e) => e.type)).toEqual(['pfx_a', 'pfxXa.two']);
    });

    it('filters by time, since inclusive and until exclusive', async (ctx) => {
      if (skip.reason) return ctx.skip();
      for (const ts of [10_000, 11_000, 12_000]) await store.events.append([{ type: 'time.tick', data: { ts } }], ts);
      const ticks = (q: { since?: number; until?: number }) => store.events.list({ type: ['time.tick'], limit: 10, ...q }).then((events) => events.map((e) => e.data.ts));
      expect(await ticks({ since: 11_000 })).toEqual([12_000, 11_000]);
      expect(await ticks({ until: 11_000 })).toEqual([10_000]);
      expect(await ticks({ since: 10_000, until: 12_000 })).toEqual([11_000, 10_000]);
    });

    it('appends more events than one statement takes, in order, and pages through them', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const count = 12_000;
      const appended = await store.events.append(Array.from({ length: count }, (_, i) => ({ type: 'bulk.row', data: { i } })), 20_000);
      expect(appended).toHaveLength(count);
      expect(appended.map((e) => e.data.i)).toEqual(Array.from({ length: count }, (_, i) => i));
      let afterId = appended[0]!.id - 1;
      let seen = 0;
      for (;;) {
        const page = await store.events.list({ type: ['bulk.row'], afterId, limit: 5_000 });
        if (page.length === 0) break;
        expect(page[0]!.data.i).toBe(seen);
        seen += page.length;
        afterId = page.at(-1)!.id;
      }
      expect(seen).toBe(count);
    });
  });
}
