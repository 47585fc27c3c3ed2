// Opens the one SQL database: better-sqlite3 (WAL) by default, PostgreSQL when given a postgres:// URL.
// The few dialect differences live in `Dialect`; queries are written once against Kysely.
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Largest number of bound parameters one statement may carry in this dialect. */
  maxParams: number;
  /** The underlying better-sqlite3 connection (SQLite only), for the bulk-write fast path. */
  sqlite?: SQLite.Database;
  /** The underlying pg pool (PostgreSQL only), for LISTEN/NOTIFY. */
  pool?: pg.Pool;
  /** A description safe to log (no password). */
  describe: string;
  close(): Promise<void>;
}

// BIGINT (int8) comes back from pg as a string by default; our BIGINTs are epoch ms and counters.
pg.types.setTypeParser(20, (value) => Number(value));

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

export interface OpenOptions {
  /** postgres://... to use PostgreSQL. */
  url?: string;
  /** SQLite file path, or ':memory:'. */
  sqliteFile?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export function openDatabase(options: OpenOptions): DatabaseHandle {
  if (isPostgresUrl(options.url)) {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      dialect: 'postgres',
      maxParams: 65_000,
      pool,
      describe: redactUrl(options.url),
      close: () => db.destroy(),
    };
  }
  const file = options.sqliteFile ?? ':memory:';
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: 'sqlite',
    maxParams: 30_000,
    sqlite,
    describe: file === ':memory:' ? 'sqlite (in memory)' : `sqlite ${file}`,
    close: () => db.destroy(),
  };
}
