// Liveness and readiness: /healthz answers while the process runs; /readyz only while the
// database answers and every migration this build knows is applied (a server started before
// another one finished migrating, or during a migration, is not ready).
import type { FastifyInstance } from 'fastify';
import { listMigrations, type Store } from '../store/index.js';

export async function healthRoutes(app: FastifyInstance, deps: { store: Store; ready: () => boolean }) {
  const expected = listMigrations(deps.store.dialect).map((m) => m.version);
  app.get('/healthz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Readiness: database reachable and migrated' } }, async (_request, reply) => {
    if (!deps.ready()) return reply.code(503).send({ status: 'starting', database: 'migrating' });
    try {
      const applied = await deps.store.stats.appliedMigrations();
      const pending = expected.filter((v) => !applied.has(v));
      if (pending.length) return reply.code(503).send({ status: 'migrating', database: deps.store.dialect, pending });
      return { status: 'ready', database: deps.store.dialect };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', database: (error as Error).message });
    }
  });
}
