// The store implementations every contract suite runs against: SQLite (in memory) and PostgreSQL
// (a fresh database per suite). Use with describe.each / for-of over `storeTargets()`.
import { openStore, type Store } from '../store/index.js';
import { createTestDatabase, postgresUnavailable } from './postgres.js';

export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** Opens a fresh, migrated store; close() also drops the database. */
  open(): Promise<Store>;
  /** Non-null when this target must be skipped (printed reason). */
  skip(): Promise<string | null>;
}

export const storeTargets: StoreTarget[] = [
  {
    name: 'sqlite',
    open: () => openStore({ sqliteFile: ':memory:' }),
    skip: async () => null,
  },
  {
    name: 'postgres',
    async open() {
      const db = await createTestDatabase();
      const store = await openStore({ url: db.url, poolSize: 5 });
      const close = store.close;
      return {
        ...store,
        async close() {
          await close();
          await db.drop();
        },
      };
    },
    skip: () => postgresUnavailable(),
  },
];
