// PostgreSQL's import staging. Pass 1 writes validated devices into a temporary table of the
// import's own connection, 5,000 rows per statement as 12 array parameters (INSERT ... SELECT FROM
// unnest), one batch in flight while the parser fills the next. Pass 2 keeps the last row of each
// id and moves them into devices and device_tags with set-based statements, MOVE_CHUNK ids per
// transaction, so no row crosses from JavaScript into PostgreSQL twice.
//
// The indexes stay: several servers may share the database, and their queries need them while an
// import runs. Temporary tables belong to the connection; close() drops them before the
// connection goes back to the pool.
import { sql, type Kysely } from 'kysely';
import { STAGE_MAX_BYTES, type DeviceInput, type ImportStaging } from '../core/index.js';
import { INPUT_COLUMNS, toRow, UPSERT_SET } from './device-row.js';
import type { Database } from './schema.js';

/** Rows per staging statement (fewer when they are large: STAGE_MAX_BYTES): 12 parameters whatever the size. */
const STAGE_CHUNK = 5000;
/** Ids moved per transaction: long enough to be cheap, short enough not to hold locks for long. */
const MOVE_CHUNK = 20_000;

/** The staging table's type of a column: as in devices (only last_seen is a number). */
const typeOf = (column: (typeof INPUT_COLUMNS)[number]) => (column === 'last_seen' ? 'bigint' : 'text');
const COLUMNS = sql.raw(INPUT_COLUMNS.join(', '));
const UPDATES = sql.raw(UPSERT_SET);

export class PostgresImportStaging implements ImportStaging {
  private readonly connection: Promise<Kysely<Database>>;
  /** Settles when the connection has gone back to the pool. */
  private readonly returned: Promise<void>;
  private giveBack: () => void = () => {};
  private created: Promise<void> | null = null;
  private pending: DeviceInput[] = [];
  private pendingBytes = 0;
  private staged = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    db: Kysely<Database>,
    private readonly now: number,
  ) {
    let opened: (connection: Kysely<Database>) => void = () => {};
    let failed: (error: unknown) => void = () => {};
    this.connection = new Promise((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    // One connection for the whole import: the temporary tables live in its session.
    this.returned = db
      .connection()
      .execute((connection) => {
        opened(connection);
        return new Promise<void>((resolve) => (this.giveBack = resolve));
      })
      .catch(failed);
    this.connection.catch(() => {});
  }

  add(device: DeviceInput, rowBytes = 0): void | Promise<void> {
    this.pending.push(device);
    this.pendingBytes += rowBytes;
    if (this.pending.length < STAGE_CHUNK && this.pendingBytes < STAGE_MAX_BYTES) return;
    // The parser waits for the batch before this one only: one insert runs while it reads on.
    const before = this.inFlight;
    this.inFlight = before.then(this.stager());
    this.inFlight.catch(() => {});
    return before;
  }

  async commit(onProgress?: (written: number) => void): Promise<{ created: number; updated: number }> {
    await this.inFlight;
    await this.stager()();
    const db = await this.connection;
    await this.createTables(db);
    // The last row of each id wins, numbered in id order for the chunks below.
    await sql`CREATE TEMP TABLE import_last AS
      SELECT row_number() OVER (ORDER BY id) AS n, ${COLUMNS}
      FROM (SELECT DISTINCT ON (id) * FROM import_rows ORDER BY id, seq DESC) last`.execute(db);
    await sql`DROP TABLE import_rows`.execute(db);
    await sql`CREATE INDEX ON import_last (n)`.execute(db);
    await sql`ANALYZE import_last`.execute(db);
    const total = Number((await sql<{ total: string }>`SELECT count(*) AS total FROM import_last`.execute(db)).rows[0]!.total);
    const counts = { created: 0, updated: 0 };
    for (let first = 1; first <= total; first += MOVE_CHUNK) {
      const last = Math.min(total, first + MOVE_CHUNK - 1);
      const existing = await db.transaction().execute(async (trx) => {
        const found = await sql<{ existing: string }>`
          SELECT count(*) AS existing FROM import_last s JOIN devices d ON d.id = s.id WHERE s.n BETWEEN ${first} AND ${last}`.execute(trx);
        await sql`
          INSERT INTO devices (${COLUMNS}, created_at, updated_at)
          SELECT ${COLUMNS}, ${this.now}::bigint, ${this.now}::bigint FROM import_last WHERE n BETWEEN ${first} AND ${last}
          ON CONFLICT (id) DO UPDATE SET ${UPDATES}`.execute(trx);
        await sql`DELETE FROM device_tags t USING import_last s WHERE t.device_id = s.id AND s.n BETWEEN ${first} AND ${last}`.execute(trx);
        await sql`
          INSERT INTO device_tags (device_id, key, value)
          SELECT s.id, tag.key, tag.value FROM import_last s CROSS JOIN LATERAL json_each_text(s.tags::json) tag
          WHERE s.n BETWEEN ${first} AND ${last}`.execute(trx);
        return Number(found.rows[0]!.existing);
      });
      counts.updated += existing;
      counts.created += last - first + 1 - existing;
      onProgress?.(last);
    }
    return counts;
  }

  async close(): Promise<void> {
    await this.inFlight.catch(() => {});
    try {
      const db = await this.connection;
      await sql`DROP TABLE IF EXISTS import_rows, import_last`.execute(db);
    } catch {
      // The connection is gone (and its temporary tables with it), or never opened.
    } finally {
      this.giveBack();
      await this.returned;
    }
  }

  /** Takes the pending rows, numbered in file order; the answer writes them into import_rows. */
  private stager(): () => Promise<void> {
    const devices = this.pending;
    const first = this.staged;
    this.pending = [];
    this.pendingBytes = 0;
    this.staged += devices.length;
    return async () => {
      if (devices.length === 0) return;
      const db = await this.connection;
      await this.createTables(db);
      const columns = INPUT_COLUMNS.map(() => [] as unknown[]);
      for (const device of devices) {
        const row = toRow(device, 0);
        INPUT_COLUMNS.forEach((field, i) => columns[i]!.push(row[field]));
      }
      const seq = Array.from({ length: devices.length }, (_, i) => first + i);
      const arrays = sql.join(INPUT_COLUMNS.map((field, i) => sql`${columns[i]}::${sql.raw(typeOf(field))}[]`));
      await sql`INSERT INTO import_rows (seq, ${COLUMNS}) SELECT * FROM unnest(${seq}::bigint[], ${arrays})`.execute(db);
    };
  }

  private createTables(db: Kysely<Database>): Promise<void> {
    this.created ??= (async () => {
      // A connection that served an import which died before close() may still hold them.
      await sql`DROP TABLE IF EXISTS import_rows, import_last`.execute(db);
      await sql`CREATE TEMP TABLE import_rows (seq bigint NOT NULL, ${sql.raw(INPUT_COLUMNS.map((c) => `${c} ${typeOf(c)}${c === 'id' || c === 'version_key' ? ' COLLATE "C"' : ''}`).join(', '))})`.execute(db);
    })();
    return this.created;
  }
}
