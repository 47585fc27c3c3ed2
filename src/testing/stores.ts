// The store implementations every contract suite runs against: SQLite (in memory) and PostgreSQL
// (a fresh database per suite). Use with describe.each / for-of over `storeTargets()`.
import { afterAll, beforeAll } from 'vitest';
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

/**
 * Opens `target`'s store before a suite's tests (handing it to `opened`) and closes it after.
 * `reason` is set when the target is unavailable: each test then skips, with the reason printed.
 */
export function useStore(target: StoreTarget, opened: (store: Store) => void): { readonly reason: string | null } {
  const state: { reason: string | null } = { reason: null };
  let store: Store | undefined;
  beforeAll(async () => {
    state.reason = await target.skip();
    if (!state.reason) opened((store = await target.open()));
  });
  afterAll(async () => {
    await store?.close();
  });
  return state;
}
