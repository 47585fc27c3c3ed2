// SQLite's bulk upsert of devices: prepared statements on the raw better-sqlite3 connection, run in
// one synchronous transaction. Same effect as DeviceRepository.upsertMany's portable path.
//
// A large import also defers the secondary indexes of devices and device_tags (but the one tag
// replacement needs): maintaining them row by row costs twice the rest of the write, building them
// once at the end a few seconds. Their definitions are kept in deferred_indexes until they are back, so a crash in
// between is repaired when the store next opens (restoreDeferredIndexes).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database as SQLiteDatabase, Statement } from 'better-sqlite3';
import type { DeviceInput } from '../core/index.js';
import type { DeviceRow } from './schema.js';

const COLUMNS = ['id', 'name', 'address', 'mode', 'status', 'last_seen', 'version', 'version_key', 'location', 'timezone', 'tags', 'metadata', 'created_at', 'updated_at'] as const;
const UPDATED = COLUMNS.filter((c) => c !== 'id' && c !== 'created_at');
const BULK_TABLES = ['devices', 'device_tags'];
/** Replacing a device's tags deletes them by device id: without this index, a scan per device. */
const KEPT_INDEXES = ['device_tags_device_idx'];
/** Imports smaller than this, or smaller than the table they go into, keep the indexes. */
export const DEFER_INDEXES_MIN_ROWS = 50_000;

export class SqliteBulkUpsert {
  private readonly exists: Statement<[string]>;
  private readonly upsert: Statement<unknown[]>;
  private readonly clearTags: Statement<[string]>;
  private readonly addTag: Statement<[string, string, string]>;
  private readonly transaction: (rows: DeviceRow[], devices: DeviceInput[]) => { created: number; updated: number };
  /** Imports running with the indexes deferred; the last one to end rebuilds them. */
  private deferring = 0;

  constructor(private readonly db: SQLiteDatabase) {
    this.exists = db.prepare('SELECT 1 FROM devices WHERE id = ?');
    this.upsert = db.prepare(
      `INSERT INTO devices (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ` +
        `ON CONFLICT (id) DO UPDATE SET ${UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    );
    this.clearTags = db.prepare('DELETE FROM device_tags WHERE device_id = ?');
    this.addTag = db.prepare('INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?)');
    this.transaction = db.transaction((rows: DeviceRow[], devices: DeviceInput[]) => {
      let updated = 0;
      rows.forEach((row, i) => {
        const existed = this.exists.get(row.id) !== undefined;
        this.upsert.run(COLUMNS.map((c) => row[c]));
        if (existed) {
          updated++;
          this.clearTags.run(row.id);
        }
        for (const [key, value] of Object.entries(devices[i]!.tags)) this.addTag.run(row.id, key, value);
      });
      return { created: rows.length - updated, updated };
    });
  }

  /** Writes all rows (and their tags) or none. */
  run(rows: DeviceRow[], devices: DeviceInput[]): Promise<{ created: number; updated: number }> {
    // Every tag row written here belongs to a device upserted just before it in the same
    // transaction, so checking the foreign key row by row is pure cost (a fifth of the write).
    // The pragma cannot change inside a transaction, and nothing else runs on the connection
    // until this synchronous transaction returns.
    const checked = this.db.pragma('foreign_keys', { simple: true }) === 1;
    if (checked) this.db.pragma('foreign_keys = OFF');
    try {
      return Promise.resolve(this.transaction(rows, devices));
    } finally {
      if (checked) this.db.pragma('foreign_keys = ON');
    }
  }

  /**
   * Called before an import of `rows` devices; answers whether the secondary indexes are now
   * deferred. When it answers true, call rebuildIndexes() after the import, failed or not.
   */
  deferIndexes(rows: number, now: number): boolean {
    if (this.deferring > 0) {
      this.deferring++;
      return true;
    }
    if (rows < DEFER_INDEXES_MIN_ROWS) return false;
    const existing = (this.db.prepare('SELECT count(*) FROM devices').pluck().get() as number) ?? 0;
    if (rows < existing) return false;
    const indexes = this.db
      .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${BULK_TABLES.map(() => '?').join(', ')}) AND name NOT IN (${KEPT_INDEXES.map(() => '?').join(', ')})`)
      .all(...BULK_TABLES, ...KEPT_INDEXES) as { name: string; sql: string }[];
    const remember = this.db.prepare('INSERT OR REPLACE INTO deferred_indexes (name, sql, deferred_at) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const index of indexes) {
        remember.run(index.name, index.sql, now);
        this.db.exec(`DROP INDEX "${index.name}"`);
      }
    })();
    this.deferring = 1;
    return true;
  }

  /** Rebuilds the deferred indexes once the last deferring import ends, one per event-loop turn. */
  async rebuildIndexes(): Promise<void> {
    if (this.deferring === 0 || --this.deferring > 0) return;
    await restoreDeferredIndexes(this.db, nextTurn);
  }
}

/**
 * Creates every index listed in deferred_indexes and forgets it, each in its own transaction.
 * At open this repairs an import that died with its indexes dropped. Answers how many it built.
 */
export async function restoreDeferredIndexes(db: SQLiteDatabase, between: () => Promise<unknown> = async () => undefined): Promise<number> {
  const pending = db.prepare('SELECT name, sql FROM deferred_indexes ORDER BY name').all() as { name: string; sql: string }[];
  const present = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?`).pluck();
  const forget = db.prepare('DELETE FROM deferred_indexes WHERE name = ?');
  for (const index of pending) {
    db.transaction(() => {
      if (present.get(index.name) === undefined) db.exec(index.sql);
      forget.run(index.name);
    })();
    await between();
  }
  return pending.length;
}
