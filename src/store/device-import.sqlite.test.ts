// SQLite's import staging, beyond the contract both dialects share (device-import.test.ts): a
// large import defers the secondary indexes and rebuilds them, also when it fails; an import that
// died with its indexes dropped is repaired at the next open.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateDevice, type DeviceInput } from '../core/index.js';
import { DEFER_INDEXES_MIN_ROWS } from './device-import.sqlite.js';
import { openStore, type Store } from './index.js';

const indexNames = (store: Store) =>
  (store.handle.sqlite!.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('devices', 'device_tags') ORDER BY name`).pluck().all() as string[]);

const fleet = (n: number, prefix = 'imp') =>
  Array.from({ length: n }, (_, i) => validateDevice({ id: `${prefix}-${String(i).padStart(6, '0')}`, status: i % 2 ? 'online' : 'offline', version: i % 3 ? '2.0.0' : '1.0.0', lastSeen: '2026-11-01T00:00:00Z', tags: { region: i % 4 ? 'west' : 'east' } }));

describe('SQLite import staging', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => {});
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const tmp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-staging-'));
    dirs.push(dir);
    return dir;
  };
  const open = async (file = ':memory:') => {
    const store = await openStore({ sqliteFile: file });
    stores.push(store);
    return store;
  };
  async function stageAndCommit(store: Store, devices: DeviceInput[], now: number, onProgress?: (written: number) => void) {
    const staging = store.devices.importStaging(tmp(), now)!;
    try {
      for (const device of devices) await staging.add(device);
      return await staging.commit(onProgress);
    } finally {
      await staging.close();
    }
  }

  it('defers the secondary indexes of a large import and rebuilds them as they were, also when it fails', async () => {
    const store = await open();
    const before = indexNames(store);
    const during: string[][] = [];
    await stageAndCommit(store, fleet(DEFER_INDEXES_MIN_ROWS), 1000, () => during.push(indexNames(store)));
    expect(during[0]).toEqual(['device_tags_device_idx']); // replacing tags deletes by device id
    expect(indexNames(store)).toEqual(before);
    expect(store.handle.sqlite!.prepare('SELECT count(*) FROM deferred_indexes').pluck().get()).toBe(0);

    // Into a table as large as the import: indexes kept.
    during.length = 0;
    await stageAndCommit(store, fleet(DEFER_INDEXES_MIN_ROWS, 'more').slice(0, DEFER_INDEXES_MIN_ROWS - 1), 2000, () => during.push(indexNames(store)));
    expect(during[0]).toEqual(before);

    const fresh = await open();
    const failing = stageAndCommit(fresh, fleet(DEFER_INDEXES_MIN_ROWS), 3000, () => {
      throw new Error('disk full');
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(indexNames(fresh)).toEqual(before);
  });

  it('rebuilds at the next open the indexes an import dropped before it died', async () => {
    const file = path.join(tmp(), 'orchestrator.db');
    const store = await open(file);
    const before = indexNames(store);
    const db = store.handle.sqlite!;
    // What deferring does, without the end that would rebuild them: the process "dies" here.
    for (const index of db.prepare(`SELECT name, sql FROM sqlite_master WHERE name IN ('devices_status_idx', 'devices_location_idx')`).all() as { name: string; sql: string }[]) {
      db.prepare('INSERT INTO deferred_indexes (name, sql, deferred_at) VALUES (?, ?, 1)').run(index.name, index.sql);
      db.exec(`DROP INDEX ${index.name}`);
    }
    expect(indexNames(store)).not.toEqual(before);
    await store.close();

    const reopened = await open(file);
    expect(indexNames(reopened)).toEqual(before);
    expect(reopened.handle.sqlite!.prepare('SELECT count(*) FROM deferred_indexes').pluck().get()).toBe(0);
  });
});
