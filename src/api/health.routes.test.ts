// Readiness against real databases: ready when migrated, 503 while a migration is pending and
// when the database is gone.
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../testing/app.js';
import { ADMIN_URL, postgresUnavailable } from '../testing/postgres.js';
import { dropDatabase, forgetNewestMigration } from '../testing/raw-sql.js';

describe('/readyz', () => {
  it('answers 503 while a known migration is not applied', async () => {
    const t = await startTestApp();
    try {
      expect((await t.request('GET', '/readyz', { token: null })).json()).toMatchObject({ status: 'ready' });
      const last = await forgetNewestMigration(t.app.store);
      const migrating = await t.request('GET', '/readyz', { token: null });
      expect(migrating.status).toBe(503);
      expect(migrating.json()).toMatchObject({ status: 'migrating', pending: [last.version] });
      await last.restore();
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
      await dropDatabase(ADMIN_URL, name);
      const down = await t.request('GET', '/readyz', { token: null });
      expect(down.status).toBe(503);
      expect(down.json()).toMatchObject({ status: 'unavailable' });
      expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
