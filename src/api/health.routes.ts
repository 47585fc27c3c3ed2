// Liveness and readiness: /healthz answers while the process runs; /readyz only while the
// database answers and every migration this build knows is applied (a server started before
// another one finished migrating, or during a migration, is not ready).
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { listMigrations, type Store } from '../store/index.js';

export async function healthRoutes(app: FastifyInstance, deps: { store: Store; ready: () => boolean }) {
  const expected = listMigrations(deps.store.handle.dialect).map((m) => m.version);
  app.get('/healthz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Readiness: database reachable and migrated' } }, async (_request, reply) => {
    if (!deps.ready()) return reply.code(503).send({ status: 'starting', database: 'migrating' });
    try {
      await sql`SELECT 1`.execute(deps.store.handle.db);
      const applied = new Set((await deps.store.handle.db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
      const pending = expected.filter((v) => !applied.has(v));
      if (pending.length) return reply.code(503).send({ status: 'migrating', database: deps.store.handle.dialect, pending });
      return { status: 'ready', database: deps.store.handle.dialect };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', database: (error as Error).message });
    }
  });
}
