// SQLite's import staging. Pass 1 writes validated devices into a scratch database of their own
// (no journal, no lock shared with the server); pass 2 attaches it and moves them into devices and
// device_tags with INSERT ... SELECT, a few thousand ids per transaction, so no row crosses from
// JavaScript into SQLite twice. A large import also defers the secondary indexes and builds them
// once at the end: maintaining them row by row costs more than the rest of the write.
//
// The deferred indexes' definitions wait in deferred_indexes until they are back, so an import that
// dies in between is repaired when the store next opens (restoreDeferredIndexes).
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import SQLite, { type Database as SQLiteDatabase, type Statement } from 'better-sqlite3';
import { STAGE_MAX_BYTES, type DeviceInput, type ImportStaging } from '../core/index.js';
import { withoutForeignKeyChecks } from './device-bulk.sqlite.js';
import { INPUT_COLUMNS, toRow, UPSERT_SET } from './device-row.js';

/** Imports smaller than this, or smaller than the table they go into, keep the indexes. */
export const DEFER_INDEXES_MIN_ROWS = 50_000;
const DEFERRED_TABLES = ['devices', 'device_tags'];
/** Replacing a device's tags deletes them by device id: without this index, a scan per device. */
const KEPT_INDEXES = ['device_tags_device_idx'];
/** Ids moved per transaction: long enough to be cheap, short enough not to stall other writers. */
const MOVE_CHUNK = 5000;
/** Staged rows per scratch transaction in pass 1 (fewer when they are large: STAGE_MAX_BYTES). */
const STAGE_CHUNK = 5000;
const ALIAS = 'import_staging';


function stagedRow(device: DeviceInput): unknown[] {
  const row = toRow(device, 0);
  return INPUT_COLUMNS.map((c) => row[c]);
}

export class SqliteImportStaging implements ImportStaging {
  private readonly file: string;
  private readonly scratch: SQLiteDatabase;
  private readonly insertRow: Statement<unknown[]>;
  private readonly replaceRow: Statement<unknown[]>;
  private readonly dropTags: Statement<[string]>;
  private readonly insertTag: Statement<[string, string, string]>;
  private readonly stageChunk: (devices: DeviceInput[]) => void;
  private pending: DeviceInput[] = [];
  private pendingBytes = 0;
  private attached = false;

  constructor(
    private readonly db: SQLiteDatabase,
    dir: string,
    private readonly now: number,
  ) {
    this.file = path.join(dir, 'staging.db');
    this.scratch = new SQLite(this.file);
    this.scratch.pragma('journal_mode = OFF');
    this.scratch.pragma('synchronous = OFF');
    // Keyed by id, so a later row of an id replaces the earlier one here already.
    this.scratch.exec(`
      CREATE TABLE rows (${INPUT_COLUMNS.map((c) => (c === 'id' ? 'id TEXT PRIMARY KEY' : c)).join(', ')}) WITHOUT ROWID;
      CREATE TABLE tags (id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (id, key)) WITHOUT ROWID;`);
    this.insertRow = this.scratch.prepare(`INSERT INTO rows VALUES (${INPUT_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (id) DO NOTHING`);
    this.replaceRow = this.scratch.prepare(`REPLACE INTO rows VALUES (${INPUT_COLUMNS.map(() => '?').join(', ')})`);
    this.dropTags = this.scratch.prepare('DELETE FROM tags WHERE id = ?');
    this.insertTag = this.scratch.prepare('INSERT INTO tags VALUES (?, ?, ?)');
    this.stageChunk = this.scratch.transaction((devices: DeviceInput[]) => {
      for (const device of devices) {
        const row = stagedRow(device);
        if (this.insertRow.run(row).changes === 0) {
          this.replaceRow.run(row);
          this.dropTags.run(device.id);
        }
        for (const key in device.tags) this.insertTag.run(device.id, key, device.tags[key]!);
      }
    });
  }

  add(device: DeviceInput, rowBytes = 0): void {
    this.pending.push(device);
    this.pendingBytes += rowBytes;
    if (this.pending.length >= STAGE_CHUNK || this.pendingBytes >= STAGE_MAX_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.stageChunk(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }

  async commit(onProgress?: (written: number) => void): Promise<{ created: number; updated: number }> {
    this.flush();
    const db = this.db;
    const total = this.scratch.prepare('SELECT count(*) FROM rows').pluck().get() as number;
    if (total === 0) return { created: 0, updated: 0 };
    // ATTACH and the moves below need the connection outside any transaction Kysely holds open.
    await idle(db);
    db.prepare(`ATTACH DATABASE ? AS ${ALIAS}`).run(this.file);
    this.attached = true;
    const deferred = deferIndexes(db, total, this.now);
    try {
      const s = ALIAS;
      const range = 'id > @after AND id <= @upto';
      const boundary = db.prepare(`SELECT id FROM ${s}.rows WHERE id > ? ORDER BY id LIMIT 1 OFFSET ${MOVE_CHUNK - 1}`).pluck();
      const last = db.prepare(`SELECT max(id) FROM ${s}.rows`).pluck().get() as string;
      const existing = db.prepare(`SELECT count(*) FROM ${s}.rows AS r WHERE ${range.replaceAll('id', 'r.id')} AND EXISTS (SELECT 1 FROM main.devices AS d WHERE d.id = r.id)`).pluck();
      const clearTags = db.prepare(`DELETE FROM main.device_tags WHERE device_id IN (SELECT id FROM ${s}.rows WHERE ${range})`);
      const upsert = db.prepare(
        `INSERT INTO main.devices (${INPUT_COLUMNS.join(', ')}, created_at, updated_at) SELECT ${INPUT_COLUMNS.join(', ')}, @now, @now FROM ${s}.rows WHERE ${range} ORDER BY id ` +
          `ON CONFLICT (id) DO UPDATE SET ${UPSERT_SET}`,
      );
      const addTags = db.prepare(`INSERT INTO main.device_tags (device_id, key, value) SELECT id, key, value FROM ${s}.tags WHERE ${range}`);
      const move = db.transaction((after: string, upto: string): number => {
        const updated = existing.get({ after, upto }) as number;
        if (updated > 0) clearTags.run({ after, upto });
        upsert.run({ after, upto, now: this.now });
        addTags.run({ after, upto });
        return updated;
      });

      let after = '';
      let written = 0;
      let updated = 0;
      while (after < last) {
        const upto = (boundary.get(after) as string | undefined) ?? last;
        await idle(db);
        updated += withoutForeignKeyChecks(db, () => move(after, upto));
        written = Math.min(total, written + MOVE_CHUNK);
        onProgress?.(written);
        after = upto;
        await nextTurn();
      }
      return { created: total - updated, updated };
    } finally {
      this.detach();
      if (deferred) await restoreDeferredIndexes(db, nextTurn);
    }
  }

  private detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.db.prepare(`DETACH DATABASE ${ALIAS}`).run();
  }

  async close(): Promise<void> {
    this.pending = [];
    if (this.attached) {
      await idle(this.db);
      this.detach();
    }
    if (this.scratch.open) this.scratch.close();
    await fs.promises.rm(this.file, { force: true });
  }
}

/** Waits until no transaction is open on the shared connection (Kysely may hold one across awaits). */
async function idle(db: SQLiteDatabase): Promise<void> {
  while (db.inTransaction) await sleep(2);
}

/**
 * Before `rows` devices arrive: when that is many and at least as many as the table holds, drops
 * the secondary indexes of devices and device_tags (but KEPT_INDEXES), remembering them in
 * deferred_indexes. Answers whether it did.
 */
function deferIndexes(db: SQLiteDatabase, rows: number, now: number): boolean {
  if (rows < DEFER_INDEXES_MIN_ROWS) return false;
  // Another import running now already deferred them; it rebuilds them when it ends.
  if ((db.prepare('SELECT count(*) FROM main.deferred_indexes').pluck().get() as number) > 0) return false;
  const existing = db.prepare('SELECT count(*) FROM main.devices').pluck().get() as number;
  if (rows < existing) return false;
  const indexes = db
    .prepare(`SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${DEFERRED_TABLES.map(() => '?').join(', ')}) AND name NOT IN (${KEPT_INDEXES.map(() => '?').join(', ')})`)
    .all(...DEFERRED_TABLES, ...KEPT_INDEXES) as { name: string; sql: string }[];
  const remember = db.prepare('INSERT OR REPLACE INTO main.deferred_indexes (name, sql, deferred_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const index of indexes) {
      remember.run(index.name, index.sql, now);
      db.exec(`DROP INDEX main."${index.name}"`);
    }
  })();
  return indexes.length > 0;
}

/**
 * Creates every index listed in deferred_indexes and forgets it, each in its own transaction.
 * At open this repairs an import that died with its indexes dropped. Answers how many it built.
 */
export async function restoreDeferredIndexes(db: SQLiteDatabase, between: () => Promise<unknown> = async () => undefined): Promise<number> {
  const pending = db.prepare('SELECT name, sql FROM main.deferred_indexes ORDER BY name').all() as { name: string; sql: string }[];
  const present = db.prepare(`SELECT 1 FROM main.sqlite_master WHERE type = 'index' AND name = ?`).pluck();
  const forget = db.prepare('DELETE FROM main.deferred_indexes WHERE name = ?');
  for (const index of pending) {
    await idle(db);
    db.transaction(() => {
      if (present.get(index.name) === undefined) db.exec(index.sql);
      forget.run(index.name);
    })();
    await between();
  }
  return pending.length;
}
