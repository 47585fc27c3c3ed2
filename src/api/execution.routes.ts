// Operator API for executions: every device of a rollout (filter by state and phase, paged by
// cursor) and a device's deployment history, newest first. The dashboard's device tables and the
// CLI's `rollouts devices` read these.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { EXECUTION_STATES, idCursor, NotFoundError, timeCursor, type ExecutionState } from '../core/index.js';
import type { RolloutService } from '../engine/index.js';
import type { Store } from '../store/index.js';
import { listParam, oneOf } from './query-params.js';
import { DeviceExecutionSchema, ExecutionSchema } from './rollout.schemas.js';
import { errorResponses, listOf, PageQuery } from './schemas.js';

export interface ExecutionRouteDeps {
  rollouts: RolloutService;
  store: Store;
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export async function executionRoutes(app: FastifyInstance, deps: ExecutionRouteDeps) {
  const { rollouts, store } = deps;

  app.get('/api/v1/rollouts/:id/devices', {
    config: { auth: 'viewer' },
    schema: {
      tags: ['rollouts'],
      summary: "A rollout's executions (one per device), by device id; filter by state (comma-separated) and phase",
      params: IdParams,
      querystring: Type.Object({
        state: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'execution states, comma-separated or repeated (failed,rolled-back: the failures list)' })),
        phase: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: '1-based phase' })),
        ...PageQuery,
      }),
      response: { 200: listOf(ExecutionSchema), ...errorResponses },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as { state?: string | string[]; phase?: number; limit?: number; cursor?: string };
      const state = oneOf(listParam(q.state), EXECUTION_STATES, 'state') as ExecutionState[];
      const after = idCursor.decode(q.cursor);
      await rollouts.get(id);
      const phase = q.phase === undefined ? undefined : q.phase - 1;
      const limit = q.limit ?? 100;
      const items = await store.executions.list(id, { state, phase, limit: limit + 1, after });
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      // The same grouped counts the rollout's summary comes from.
      const total = (await store.executions.countsByPhase(id)).filter((r) => (state.length === 0 || state.includes(r.state)) && (phase === undefined || r.phase === phase)).reduce((n, r) => n + r.n, 0);
      return { items: page, nextCursor: more ? idCursor.encode(page.at(-1)!.deviceId) : null, total };
    },
  });

  app.get('/api/v1/devices/:id/executions', {
    config: { auth: 'viewer' },
    schema: {
      tags: ['devices'],
      summary: "A device's deployment history: its executions in every rollout, newest first, with the rollout's name and artifact",
      params: IdParams,
      querystring: Type.Object(PageQuery),
      response: { 200: listOf(DeviceExecutionSchema), ...errorResponses },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as { limit?: number; cursor?: string };
      const before = timeCursor.decode(q.cursor);
      if (!(await store.devices.get(id))) throw new NotFoundError('device', id);
      const limit = q.limit ?? 100;
      const items = await store.executionViews.history(id, { limit: limit + 1, before });
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      const last = page.at(-1);
      return { items: page, nextCursor: more && last ? timeCursor.encode({ createdAt: Date.parse(last.createdAt), id: last.id }) : null, total: await store.executionViews.countForDevice(id) };
    },
  });
}
