// Opens the one SQL database: better-sqlite3 (WAL) by default, PostgreSQL when given a postgres:// URL.
// The few dialect differences live in `Dialect`; queries are written once against Kysely.
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

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
  /**
   * SQLite file: checkpoint the write-ahead log on a worker thread instead of inside commits on
   * this one (sqlite-checkpointer.ts). For the server; tools and short-lived stores leave it off.
   */
  backgroundCheckpoint?: boolean;
}

export function openDatabase(options: OpenOptions): DatabaseHandle {
  if (isPostgresUrl(options.url)) {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    // Nor one checked out: pg-pool drops its own listener while a client is lent, and a client
    // inside a transaction between two statements (the engine's jobs, a report batch) emits
    // 'error' when its connection dies. The transaction's next statement fails with that error.
    pool.on('connect', (client) => client.on('error', () => {}));
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
  const checkpointer = options.backgroundCheckpoint && file !== ':memory:' ? new SqliteCheckpointer(sqlite, path.resolve(file)) : null;
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: { prepare: statementCache(sqlite), close: () => sqlite.close() } }) });
  return {
    db,
    dialect: 'sqlite',
    maxParams: 30_000,
    sqlite,
    describe: file === ':memory:' ? 'sqlite (in memory)' : `sqlite ${file}`,
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/**
 * Kysely asks for a prepared statement on every query, and preparing (parsing and planning the SQL)
 * cost better-sqlite3 about a third as much as running it on the device poll and report paths.
 * Statements are reusable, so the most recent ones are kept by their SQL text (the few statements
 * whose text varies, such as IN lists of different lengths, fall out of the cache first). Safe
 * because Kysely runs each statement to completion at once (no open iterators are shared).
 */
function statementCache(sqlite: SQLite.Database, max = 2_000): (sql: string) => SQLite.Statement {
  const cache = new Map<string, SQLite.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (statement) {
      cache.delete(sql);
    } else {
      statement = sqlite.prepare(sql);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
}
