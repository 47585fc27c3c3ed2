// SQLite's large-import path: secondary indexes deferred and rebuilt, the same devices and tags
// written as with them, and an import that died with its indexes dropped repaired at the next open.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDeviceFilter, validateDevice } from '../core/index.js';
import { DEFER_INDEXES_MIN_ROWS } from './device-bulk.sqlite.js';
import { openStore, type Store } from './index.js';

const indexesOf = (store: Store) =>
  store.handle
    .sqlite!.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('devices', 'device_tags') ORDER BY name`)
    .all() as { name: string; sql: string }[];

const fleet = (n: number, prefix = 'bulk') =>
  Array.from({ length: n }, (_, i) => validateDevice({ id: `${prefix}-${String(i).padStart(4, '0')}`, status: i % 2 ? 'online' : 'offline', version: i % 3 ? '2.0.0' : '1.0.0', tags: { region: i % 4 ? 'west' : 'east' } }));

describe('SQLite bulk import with deferred indexes', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => {});
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const open = async (file = ':memory:') => {
    const store = await openStore({ sqliteFile: file });
    stores.push(store);
    return store;
  };

  it('drops the secondary indexes for a large import into a smaller table and rebuilds them as they were', async () => {
    const store = await open();
    const before = indexesOf(store);
    expect(before.map((i) => i.name)).toEqual(expect.arrayContaining(['devices_status_idx', 'device_tags_device_idx']));

    const end = store.devices.beginImport(DEFER_INDEXES_MIN_ROWS, 1000);
    expect(indexesOf(store).map((i) => i.name)).toEqual(['device_tags_device_idx']);
    // Replacing tags deletes them by device id, so that one index stays.
    // A second import while the first runs shares the deferral; the last one to end rebuilds.
    const endSecond = store.devices.beginImport(10, 1000);
    await store.devices.upsertMany(fleet(300), 1000);
    await store.devices.upsertMany(fleet(100), 2000); // the same ids again: updates
    await endSecond();
    expect(indexesOf(store).map((i) => i.name)).toEqual(['device_tags_device_idx']);
    await end();
    await end(); // a second call changes nothing
    expect(indexesOf(store)).toEqual(before);
    expect(store.handle.sqlite!.prepare('SELECT count(*) FROM deferred_indexes').pluck().get()).toBe(0);

    expect(await store.devices.count(parseDeviceFilter({}))).toBe(300);
    expect(await store.devices.count(parseDeviceFilter({ status: 'online', tag: 'region:west', version: '<2.0.0' }))).toBe(fleet(300).filter((d) => d.status === 'online' && d.tags.region === 'west' && d.version === '1.0.0').length);
    expect(store.handle.sqlite!.prepare('SELECT count(*) FROM device_tags').pluck().get()).toBe(300);
    expect(store.handle.sqlite!.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('keeps the indexes for a small import, or one smaller than the table', async () => {
    const store = await open();
    const before = indexesOf(store);
    await store.devices.beginImport(DEFER_INDEXES_MIN_ROWS - 1, 1000)();
    expect(indexesOf(store)).toEqual(before);
    await store.devices.upsertMany(fleet(500), 1000);
    // A table already larger than the import keeps its indexes too.
    const many = fleet(DEFER_INDEXES_MIN_ROWS + 10, 'big');
    for (let i = 0; i < many.length; i += 5000) await store.devices.upsertMany(many.slice(i, i + 5000), 1000);
    const end = store.devices.beginImport(DEFER_INDEXES_MIN_ROWS, 2000);
    expect(indexesOf(store)).toEqual(before);
    await end();
  });

  it('rebuilds at the next open the indexes of an import that died before its end', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bulk-'));
    dirs.push(dir);
    const file = path.join(dir, 'orchestrator.db');
    const store = await open(file);
    const before = indexesOf(store);
    store.devices.beginImport(DEFER_INDEXES_MIN_ROWS * 2, 1000);
    await store.devices.upsertMany(fleet(50), 1000);
    expect(indexesOf(store).map((i) => i.name)).toEqual(['device_tags_device_idx']);
    await store.close(); // the process "dies" here: end() never runs

    const reopened = await open(file);
    expect(indexesOf(reopened)).toEqual(before);
    expect(reopened.handle.sqlite!.prepare('SELECT count(*) FROM deferred_indexes').pluck().get()).toBe(0);
    expect(await reopened.devices.count(parseDeviceFilter({ tag: 'region:east' }))).toBe(13);
  });
});
