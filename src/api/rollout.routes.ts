// Operator API for rollouts: /api/v1/rollouts. Handlers decode, authorize and call the rollout
// service; the rules live in core and the engine.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { EXECUTION_STATES, ROLLOUT_STATUSES, ValidationError, type Clock, type ExecutionState, type RolloutStatus } from '../core/index.js';
import { rollback, rolloutProgress, type RolloutService } from '../engine/index.js';
import { decodeCursor, encodeCursor, type Store } from '../store/index.js';
import { actorOf } from './auth.js';
import { ExecutionSchema, RolloutInputSchema, RolloutSchema } from './rollout.schemas.js';
import { errorResponses, listOf, PageQuery } from './schemas.js';

export interface RolloutRouteDeps {
  rollouts: RolloutService;
  store: Store;
  clock: Clock;
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });
const list = (value: string | string[] | undefined) => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).filter(Boolean));

function oneOf<T extends string>(values: string[], allowed: readonly T[], field: string): T[] {
  for (const v of values) if (!(allowed as readonly string[]).includes(v)) throw new ValidationError(`${field} must be one of ${allowed.join(', ')} (got '${v}')`, [{ path: field, message: 'unknown value' }]);
  return values as T[];
}

function cursorOf(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const decoded = decodeCursor(cursor);
  if (decoded === null) throw new ValidationError('invalid cursor: pass the nextCursor of the previous page unchanged', [{ path: 'cursor', message: 'is not a cursor this server issued' }]);
  return decoded;
}

export async function rolloutRoutes(app: FastifyInstance, deps: RolloutRouteDeps) {
  const { rollouts, store, clock } = deps;
  const tags = ['rollouts'];
  const withProgress = async (id: string) => {
    const rollout = await rollouts.get(id);
    return { ...rollout, progress: await rolloutProgress(store, rollout, clock.now()) };
  };

  app.post('/api/v1/rollouts', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Create a rollout (it starts at once unless startAt lies ahead)', body: RolloutInputSchema, response: { 201: RolloutSchema, ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await rollouts.create(request.body, actorOf(request))),
  });

  app.get('/api/v1/rollouts', {
    config: { auth: 'viewer' },
    schema: {
      tags,
      summary: 'List rollouts, newest first',
      querystring: Type.Object({ status: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'comma-separated statuses' })), ...PageQuery }),
      response: { 200: listOf(RolloutSchema), ...errorResponses },
    },
    handler: async (request) => {
      const q = request.query as { status?: string | string[]; limit?: number; cursor?: string };
      const status = oneOf(list(q.status), ROLLOUT_STATUSES, 'status') as RolloutStatus[];
      const raw = cursorOf(q.cursor);
      let before: { createdAt: number; id: string } | null = null;
      if (raw) {
        const [at, id] = [Number(raw.slice(0, raw.indexOf(':'))), raw.slice(raw.indexOf(':') + 1)];
        if (!Number.isFinite(at) || !id) throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'is not a cursor this server issued' }]);
        before = { createdAt: at, id };
      }
      const limit = q.limit ?? 100;
      const items = await store.rollouts.list({ status, limit: limit + 1, before });
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      const last = page.at(-1);
      return { items: page, nextCursor: more && last ? encodeCursor(`${Date.parse(last.createdAt)}:${last.id}`) : null, total: await store.rollouts.count(status) };
    },
  });

  app.get('/api/v1/rollouts/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'A rollout with counts per state and per phase, bytes, rate and ETA', params: IdParams, response: { 200: RolloutSchema, ...errorResponses } },
    handler: async (request) => withProgress((request.params as { id: string }).id),
  });

  app.get('/api/v1/rollouts/:id/devices', {
    config: { auth: 'viewer' },
    schema: {
      tags,
      summary: "A rollout's executions (one per device), by device id",
      params: IdParams,
      querystring: Type.Object({ state: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])), phase: Type.Optional(Type.Integer({ minimum: 1, description: '1-based phase' })), ...PageQuery }),
      response: { 200: listOf(ExecutionSchema), ...errorResponses },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as { state?: string | string[]; phase?: number; limit?: number; cursor?: string };
      const rollout = await rollouts.get(id);
      const state = oneOf(list(q.state), EXECUTION_STATES, 'state') as ExecutionState[];
      const limit = q.limit ?? 100;
      const items = await store.executions.list(id, { state, phase: q.phase === undefined ? undefined : q.phase - 1, limit: limit + 1, after: cursorOf(q.cursor) });
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      const total = state.length ? state.reduce((n, s) => n + (rollout.counts[s] ?? 0), 0) : Object.values(rollout.counts).reduce((n, c) => n + (c ?? 0), 0);
      return { items: page, nextCursor: more ? encodeCursor(page.at(-1)!.deviceId) : null, total: q.phase === undefined ? total : page.length };
    },
  });

  const actions = {
    pause: { summary: 'Pause: nothing new starts; deliveries in flight finish', run: (id: string, actor: string) => rollouts.pause(id, actor) },
    resume: { summary: 'Resume a paused rollout (failures so far no longer count against the threshold)', run: (id: string, actor: string) => rollouts.resume(id, actor) },
    cancel: { summary: 'Cancel: pending work never starts, in-flight deliveries are aborted', run: (id: string, actor: string) => rollouts.cancel(id, actor) },
    approve: { summary: 'Approve the current phase so the rollout may advance', run: (id: string, actor: string) => rollouts.approve(id, actor) },
    close: { summary: 'Close a continuous rollout: no more devices join', run: (id: string, actor: string) => rollouts.close(id, actor) },
  };
  for (const [action, { summary, run }] of Object.entries(actions)) {
    app.post(`/api/v1/rollouts/:id/${action}`, {
      config: { auth: 'operator' },
      schema: { tags, summary, params: IdParams, response: { 200: RolloutSchema, ...errorResponses } },
      handler: async (request) => {
        const { id } = request.params as { id: string };
        await run(id, actorOf(request));
        return withProgress(id);
      },
    });
  }

  app.post('/api/v1/rollouts/:id/rollback', {
    config: { auth: 'operator' },
    schema: {
      tags,
      summary: "Roll back: a new rollout of each device's previous artifact to the devices this one changed",
      params: IdParams,
      response: { 200: Type.Object({ rollout: RolloutSchema, rollbacks: Type.Array(RolloutSchema), withoutPrevious: Type.Array(Type.String()) }), ...errorResponses },
    },
    handler: async (request) => rollback(store, rollouts, (request.params as { id: string }).id, actorOf(request)),
  });
}
