// Readiness against real databases: ready when migrated, 503 while a migration is pending and
// when the database is gone.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../testing/app.js';
import { ADMIN_URL, postgresUnavailable } from '../testing/postgres.js';

describe('/readyz', () => {
  it('answers 503 while a known migration is not applied', async () => {
    const t = await startTestApp();
    try {
      expect((await t.request('GET', '/readyz', { token: null })).json()).toMatchObject({ status: 'ready' });
      const db = t.app.store.handle.db;
      const last = (await db.selectFrom('schema_migrations').select(['version', 'applied_at']).orderBy('version', 'desc').executeTakeFirstOrThrow());
      await db.deleteFrom('schema_migrations').where('version', '=', last.version).execute();
      const migrating = await t.request('GET', '/readyz', { token: null });
      expect(migrating.status).toBe(503);
      expect(migrating.json()).toMatchObject({ status: 'migrating', pending: [last.version] });
      await db.insertInto('schema_migrations').values(last).execute();
      expect((await t.request('GET', '/readyz', { token: null })).status).toBe(200);
      expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('answers 503 when PostgreSQL is unreachable, while /healthz stays up', async (ctx) => {
    const reason = await postgresUnavailable();
    if (reason) return ctx.skip(reason);
    const t = await startTestApp({ db: 'postgres' });
    try {
      expect((await t.request('GET', '/readyz', { token: null })).status).toBe(200);
      const name = new URL(t.app.config.databaseUrl!).pathname.slice(1);
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      await admin.end();
      const down = await t.request('GET', '/readyz', { token: null });
      expect(down.status).toBe(503);
      expect(down.json()).toMatchObject({ status: 'unavailable' });
      expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
