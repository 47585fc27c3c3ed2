// SQLite's bulk upsert of devices: prepared statements on the raw better-sqlite3 connection, run in
// one synchronous transaction. Same effect as DeviceRepository.upsertMany's portable path.
import type { Database as SQLiteDatabase, Statement } from 'better-sqlite3';
import type { DeviceInput } from '../core/index.js';
import { ROW_COLUMNS, UPSERT_SET } from './device-row.js';
import type { DeviceRow } from './schema.js';


export class SqliteBulkUpsert {
  private readonly exists: Statement<[string]>;
  private readonly upsert: Statement<unknown[]>;
  private readonly clearTags: Statement<[string]>;
  private readonly addTag: Statement<[string, string, string]>;
  private readonly transaction: (rows: DeviceRow[], devices: DeviceInput[]) => { created: number; updated: number };

  constructor(private readonly db: SQLiteDatabase) {
    this.exists = db.prepare('SELECT 1 FROM devices WHERE id = ?');
    this.upsert = db.prepare(
      `INSERT INTO devices (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}) ` +
        `ON CONFLICT (id) DO UPDATE SET ${UPSERT_SET}`,
    );
    this.clearTags = db.prepare('DELETE FROM device_tags WHERE device_id = ?');
    this.addTag = db.prepare('INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?)');
    this.transaction = db.transaction((rows: DeviceRow[], devices: DeviceInput[]) => {
      let updated = 0;
      rows.forEach((row, i) => {
        const existed = this.exists.get(row.id) !== undefined;
        this.upsert.run(ROW_COLUMNS.map((c) => row[c]));
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
    return Promise.resolve(withoutForeignKeyChecks(this.db, () => this.transaction(rows, devices)));
  }
}

/**
 * Runs a synchronous bulk write whose tag rows all belong to devices written just before them in
 * the same transaction: checking the foreign key row by row is then pure cost (a fifth of the
 * write). The pragma cannot change inside a transaction, and nothing else runs on the connection
 * while `run` does.
 */
export function withoutForeignKeyChecks<T>(db: SQLiteDatabase, run: () => T): T {
  const checked = db.pragma('foreign_keys', { simple: true }) === 1;
  if (checked) db.pragma('foreign_keys = OFF');
  try {
    return run();
  } finally {
    if (checked) db.pragma('foreign_keys = ON');
  }
}
