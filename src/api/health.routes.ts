// Liveness and readiness: /healthz answers while the process runs; /readyz only while the
// database answers and migrations are done.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Store } from '../store/index.js';

export async function healthRoutes(app: FastifyInstance, deps: { store: Store; ready: () => boolean }) {
  app.get('/healthz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Readiness: database reachable and migrated' } }, async (_request, reply) => {
    if (!deps.ready()) return reply.code(503).send({ status: 'starting', database: 'migrating' });
    try {
      await sql`SELECT 1`.execute(deps.store.handle.db);
      return { status: 'ready', database: deps.store.handle.dialect };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', database: (error as Error).message });
    }
  });
}
