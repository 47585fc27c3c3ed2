// Test support: a fresh PostgreSQL database per test run. With CI=true a missing server fails the
// run loudly; on a developer machine without one, tests skip with a printed reason.
import pg from 'pg';
import { requirePeer } from './peers.js';

export const ADMIN_URL = process.env.ORCHESTRATOR_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

let availability: Promise<string | null> | undefined;

/** Null when PostgreSQL answers; otherwise why it does not. Throws in CI, where it must run. */
export function postgresUnavailable(): Promise<string | null> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (error) {
      return requirePeer('PostgreSQL', `PostgreSQL at ${ADMIN_URL} is unreachable (${(error as Error).message})`);
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return availability;
}

/** Creates an empty database with a unique name; drop() removes it. */
export async function createTestDatabase(prefix = 'uo_test'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The name of a test database, from its URL. */
export function databaseName(url: string): string {
  return new URL(url).pathname.slice(1);
}

/** Terminates the sessions of `database` whose last statement was `query`; answers how many. */
export async function terminateSessions(database: string, query: string): Promise<number> {
  return sessionQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query = $2', database, query);
}

/** How many idle sessions of `database` ran `query` last (a LISTEN connection waiting, say). */
export async function idleSessions(database: string, query: string): Promise<number> {
  return sessionQuery("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query = $2 AND state = 'idle'", database, query);
}

async function sessionQuery(text: string, database: string, query: string): Promise<number> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    return (await admin.query(text, [database, query])).rowCount ?? 0;
  } finally {
    await admin.end();
  }
}
