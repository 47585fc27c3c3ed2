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

/** Splits a migration into statements (our migrations have no semicolons inside literals or bodies). */
function statements(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export async function migrate(handle: DatabaseHandle): Promise<string[]> {
  const { db, dialect } = handle;
  const applied: string[] = [];
  // On PostgreSQL several servers may start at once: an advisory lock makes one migrate at a time,
  // including the creation of schema_migrations itself (CREATE TABLE IF NOT EXISTS is not safe
  // against a concurrent creator there).
  const run = async () => {
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`.execute(db);
    const done = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
    for (const migration of listMigrations(dialect)) {
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
