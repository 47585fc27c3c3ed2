// The background checkpointer against a real SQLite file: the server's connection stops
// checkpointing inside its commits, the worker thread's connection copies the WAL back into the
// database, and closing the store hands checkpoints back to the connection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from './database.js';

describe('SQLite background checkpoint', () => {
  let handle: DatabaseHandle | null = null;
  afterEach(async () => {
    await handle?.close();
    handle = null;
  });

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('moves checkpoints off the connection and copies the WAL into the database on its thread', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uo-ckpt-')), 'db.sqlite');
    handle = openDatabase({ sqliteFile: file, backgroundCheckpoint: true });
    const sqlite = handle.sqlite!;
    await until(() => sqlite.pragma('wal_autocheckpoint', { simple: true }) === 0, 'the worker to start');
    sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB)');
    const insert = sqlite.prepare('INSERT INTO t (blob) VALUES (?)');
    // About 8 MiB in many commits: with the connection's own checkpoints it would have copied
    // them into the database file after 1,000 pages; here only the thread may.
    for (let i = 0; i < 2_000; i++) insert.run(Buffer.alloc(4096, i % 256));
    const size = () => fs.statSync(file).size;
    await until(() => size() > 8 * 1024 * 1024, 'the thread to checkpoint the WAL');
    expect(sqlite.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2_000);
    await handle.close();
    handle = null;
    // Closed cleanly: the data is all in the database file, readable without the WAL.
    const reopened = openDatabase({ sqliteFile: file });
    expect(reopened.sqlite!.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2_000);
    expect(reopened.sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await reopened.close();
  });

  it('leaves an in-memory database and a store without the option as SQLite has it', async () => {
    handle = openDatabase({ sqliteFile: ':memory:', backgroundCheckpoint: true });
    expect(handle.sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });
});
