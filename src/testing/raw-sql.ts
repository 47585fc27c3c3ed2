// Test support: raw SQL where a test inspects or breaks the database behind the store's back
// (a dump of every table, a forgotten migration, a pool of its own on a test database).
import pg from 'pg';
import type { Store } from '../store/index.js';

/** A pool of its own on a PostgreSQL test database, for checks the server's own pool must not make. */
export type SqlPool = pg.Pool;

export function sqlPool(url: string, max = 2): SqlPool {
  const pool = new pg.Pool({ connectionString: url, max });
  // Dropping the database WITH (FORCE) at the end kills its idle clients; the pool re-emits that
  // as its own 'error', an uncaught exception without a listener (seen once in CI).
  pool.on('error', () => {});
  return pool;
}

/** What a dump of a PostgreSQL database holds: its tables, and every row of every table as text. */
export async function dumpPostgres(url: string): Promise<{ tables: string[]; text: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.tablename);
    const dumps: string[] = [];
    for (const table of tables) dumps.push(JSON.stringify((await client.query(`SELECT * FROM "${table}"`)).rows));
    return { tables, text: dumps.join('\n') };
  } finally {
    await client.end();
  }
}

/** Drops a database on the given server, its connections too. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The stored rows of a device's sealed credentials, as the database holds them. */
export function deviceSecretRows(store: Store, deviceId: string) {
  return store.handle.db.selectFrom('device_secrets').selectAll().where('device_id', '=', deviceId).execute();
}

/** Forgets that the newest migration was applied; answers its version and a function that restores the record. */
export async function forgetNewestMigration(store: Store): Promise<{ version: string; restore: () => Promise<void> }> {
  const db = store.handle.db;
  const last = await db.selectFrom('schema_migrations').select(['version', 'applied_at']).orderBy('version', 'desc').executeTakeFirstOrThrow();
  await db.deleteFrom('schema_migrations').where('version', '=', last.version).execute();
  return { version: last.version, restore: async () => void (await db.insertInto('schema_migrations').values(last).execute()) };
}

/** Forgets the chunk index of one artifact (or of every artifact), as artifacts stored before indexes existed. */
export async function forgetChunkIndexes(store: Store, artifactId?: string): Promise<void> {
  let q = store.handle.db.updateTable('artifacts').set({ index_sha256: null, index_info: null });
  if (artifactId !== undefined) q = q.where('id', '=', artifactId);
  await q.execute();
}
