// One transaction for a repository method's statements: its own, or the unit of work's it runs in
// (repositories of store.transaction are built over a transaction, which cannot nest).
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export function atomic<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
