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
