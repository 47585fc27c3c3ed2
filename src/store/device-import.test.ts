// The import staging contract, on SQLite and PostgreSQL: devices staged in pass 1 and moved in
// pass 2 end up exactly as upsertMany would write them (a later row of an id wins, replaced tags
// go, counts right), in several transactions with progress; an import closed without commit
// writes nothing, and the next one on the same store works; rows large enough to fill a batch by
// size (STAGE_MAX_BYTES) are staged a few at a time with the same result.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeviceFilter, STAGE_MAX_BYTES, validateDevice, type DeviceInput } from '../core/index.js';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

const fleet = (n: number, prefix = 'imp') =>
  Array.from({ length: n }, (_, i) => validateDevice({ id: `${prefix}-${String(i).padStart(6, '0')}`, status: i % 2 ? 'online' : 'offline', version: i % 3 ? '2.0.0' : '1.0.0', lastSeen: '2026-11-01T00:00:00Z', tags: { region: i % 4 ? 'west' : 'east' } }));

for (const target of storeTargets) {
  describe(`import staging on ${target.name}`, () => {
    let store: Store;
    let skip: string | null = null;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-staging-'));
    beforeAll(async () => {
      skip = await target.skip();
      if (skip) console.log(`skipping import staging on ${target.name}: ${skip}`);
      else store = await target.open();
    });
    afterAll(async () => {
      await store?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const tagRows = async () => Number((await sql<{ n: number | string }>`SELECT count(*) AS n FROM device_tags`.execute(store.handle.db)).rows[0]!.n);
    async function stageAndCommit(devices: DeviceInput[], now: number, onProgress?: (written: number) => void, rowBytes?: number) {
      const staging = store.devices.importStaging(dir, now);
      try {
        for (const device of devices) await staging.add(device, rowBytes);
        return await staging.commit(onProgress);
      } finally {
        await staging.close();
      }
    }

    it('writes what upsertMany writes: the last row of an id wins, replaced tags go, counts are right', async (ctx) => {
      if (skip) return ctx.skip();
      await store.devices.upsertMany([validateDevice({ id: 'imp-000001', name: 'old', tags: { stale: 'yes', region: 'north' } })], 1000);
      const rows = [...fleet(45_000), validateDevice({ id: 'imp-000002', name: 'second wins', tags: { tier: 'gold' } })];
      const progress: number[] = [];
      expect(await stageAndCommit(rows, 2000, (n) => progress.push(n))).toEqual({ created: 44_999, updated: 1 });
      expect(progress.at(-1)).toBe(45_000);
      expect(progress.length).toBeGreaterThan(1); // moved in several transactions

      expect(await store.devices.get('imp-000001')).toMatchObject({ name: 'imp-000001', tags: { region: 'west' }, createdAt: new Date(1000).toISOString(), updatedAt: new Date(2000).toISOString() });
      expect(await store.devices.get('imp-000002')).toMatchObject({ name: 'second wins', tags: { tier: 'gold' }, lastSeen: null, version: null });
      expect(await store.devices.count(parseDeviceFilter({ tag: 'stale:yes' }))).toBe(0);
      const expected = fleet(45_000).filter((d) => d.id !== 'imp-000002' && d.tags.region === 'east' && d.status === 'offline' && d.version === '1.0.0').length;
      expect(await store.devices.count(parseDeviceFilter({ tag: 'region:east', status: 'offline', version: '<2.0.0' }))).toBe(expected);
      expect(await tagRows()).toBe(45_000);
    });

    it('stages rows that fill a batch by size a few at a time, the last row of an id still winning across batches', async (ctx) => {
      if (skip) return ctx.skip();
      const rows = [...fleet(7, 'big'), validateDevice({ id: 'big-000003', name: 'later batch wins', tags: { tier: 'gold' } })];
      expect(await stageAndCommit(rows, 6000, undefined, STAGE_MAX_BYTES / 2)).toEqual({ created: 7, updated: 0 });
      expect(await store.devices.get('big-000003')).toMatchObject({ name: 'later batch wins', tags: { tier: 'gold' } });
      expect(await store.devices.get('big-000004')).toMatchObject({ tags: { region: 'east' } });
    });

    it('writes nothing when closed without commit, and the next import works', async (ctx) => {
      if (skip) return ctx.skip();
      const before = await store.devices.count(parseDeviceFilter({}));
      const abandoned = store.devices.importStaging(dir, 3000);
      for (const device of fleet(12_000, 'gone')) await abandoned.add(device);
      await abandoned.close();
      expect(await store.devices.count(parseDeviceFilter({}))).toBe(before);
      // More imports than a pool has connections: each must find its connection clean.
      for (let i = 0; i < 7; i++) expect(await stageAndCommit(fleet(3, `next${i}`), 4000)).toEqual({ created: 3, updated: 0 });
      expect(await stageAndCommit([], 5000)).toEqual({ created: 0, updated: 0 });
      expect(await store.devices.count(parseDeviceFilter({}))).toBe(before + 21);
    });
  });
}
