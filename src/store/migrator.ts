// Applies the checked-in SQL migrations (migrations/<dialect>/NNNN_name.sql) in order, once each,
// each inside a transaction, recording what ran in schema_migrations.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { DatabaseHandle } from './database.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Works from src/store (tests) and dist/store (built). */
export const MIGRATIONS_DIR = path.resolve(here, '..', '..', 'migrations');

export function listMigrations(dialect: string): { version: string; file: string }[] {
  const dir = path.join(MIGRATIONS_DIR, dialect);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), file: path.join(dir, f) }));
}

/**
 * Splits a migration into statements at the semicolons that end them. A semicolon inside a
 * PostgreSQL dollar-quoted body ($$ ... $$) or inside a SQLite trigger's BEGIN ... END does not
 * end a statement (CASE ... END nests the same way, so a CASE inside a trigger body is fine). Our
 * migrations have no semicolons, dollars or those words inside string literals.
 */
export function statements(text: string): string[] {
  const body = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  const out: string[] = [];
  let start = 0;
  let dollar = false;
  let depth = 0;
  const token = /\$\$|;|\b(BEGIN|CASE|END)\b/gi;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    if (m[0] === '$$') dollar = !dollar;
    else if (dollar) continue;
    else if (m[0] === ';') {
      if (depth > 0) continue;
      out.push(body.slice(start, m.index));
      start = m.index + 1;
    } else depth += m[1]!.toUpperCase() === 'END' ? -1 : 1;
  }
  out.push(body.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** Options of migrate(): `through` stops after that version (a test builds an older schema with it). */
export interface MigrateOptions {
  through?: string;
}

export async function migrate(handle: DatabaseHandle, options: MigrateOptions = {}): Promise<string[]> {
  const { db, dialect } = handle;
  const applied: string[] = [];
  // On PostgreSQL several servers may start at once: an advisory lock makes one migrate at a time,
  // including the creation of schema_migrations itself (CREATE TABLE IF NOT EXISTS is not safe
  // against a concurrent creator there).
  const run = async () => {
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`.execute(db);
    const done = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
    for (const migration of listMigrations(dialect)) {
      if (options.through !== undefined && migration.version > options.through) break;
      if (done.has(migration.version)) continue;
      const text = fs.readFileSync(migration.file, 'utf8');
      await db.transaction().execute(async (trx) => {
        for (const statement of statements(text)) await sql.raw(statement).execute(trx);
        await trx.insertInto('schema_migrations').values({ version: migration.version, applied_at: Date.now() }).execute();
      });
      applied.push(migration.version);
    }
  };
  if (dialect === 'postgres' && handle.pool) {
    const client = await handle.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(727001)');
      try {
        await run();
      } finally {
        await client.query('SELECT pg_advisory_unlock(727001)');
      }
    } finally {
      client.release();
    }
  } else {
    await run();
  }
  return applied;
}
