// Operator API for rollouts: /api/v1/rollouts. Handlers decode, authorize and call the rollout
// service; the rules live in core and the engine.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ROLLOUT_STATUSES, type RolloutStatus } from '../core/index.js';
import { rollback, type RolloutService } from '../engine/index.js';
import type { Store } from '../store/index.js';
import { actorOf } from './auth.js';
import { listParam, oneOf } from './query-params.js';
import { RetryInputSchema, RetryResultSchema, RollbackResultSchema, RolloutInputSchema, RolloutPlanSchema, RolloutSchema } from './rollout.schemas.js';
import { errorResponses, listOf, PageQuery } from './schemas.js';

export interface RolloutRouteDeps {
  rollouts: RolloutService;
  /** What a rollback reads (the executions and devices it changed). */
  store: Store;
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export async function rolloutRoutes(app: FastifyInstance, deps: RolloutRouteDeps) {
  const { rollouts, store } = deps;
  const tags = ['rollouts'];
  const view = (id: string) => rollouts.describe(id);

  app.post('/api/v1/rollouts', {
    config: { auth: 'operator' },
    schema: {
      tags,
      summary: 'Create a rollout (it starts at once unless startAt lies ahead); ?dryRun=true answers its plan and creates nothing',
      description: 'With dryRun=true: {total, byArtifact: {artifactId: devices}, skipped: [{reason, devices}]} for the devices the filter targets now, decided by the same matcher the real start uses.',
      querystring: Type.Object({ dryRun: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }),
      body: RolloutInputSchema,
      response: { 200: RolloutPlanSchema, 201: RolloutSchema, ...errorResponses },
    },
    handler: async (request, reply) => {
      if ((request.query as { dryRun?: string }).dryRun === 'true') return reply.code(200).send(await rollouts.dryRun(request.body));
      return reply.code(201).send(await view((await rollouts.create(request.body, actorOf(request))).id));
    },
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
      const status = oneOf(listParam(q.status), ROLLOUT_STATUSES, 'status') as RolloutStatus[];
      return rollouts.list({ status, limit: q.limit ?? 100, cursor: q.cursor });
    },
  });

  app.get('/api/v1/rollouts/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'A rollout with counts per state and per phase, bytes, rate, ETA and what it waits for', params: IdParams, response: { 200: RolloutSchema, ...errorResponses } },
    handler: async (request) => view((request.params as { id: string }).id),
  });

  const actions = {
    pause: { summary: 'Pause: nothing new starts; deliveries in flight (a push, a started download, an install) finish and count', run: (id: string, actor: string) => rollouts.pause(id, actor) },
    resume: { summary: 'Resume a paused rollout: failures so far no longer count against the error threshold, a missed success threshold is accepted', run: (id: string, actor: string) => rollouts.resume(id, actor) },
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
        return view(id);
      },
    });
  }

  app.post('/api/v1/rollouts/:id/retry', {
    config: { auth: 'operator' },
    schema: {
      tags,
      summary: 'Retry: re-queue the failed and rolled-back devices (or one, with deviceId) with fresh attempts; an ended rollout runs again',
      params: IdParams,
      body: RetryInputSchema,
      response: { 200: RetryResultSchema, ...errorResponses },
    },
    // The body is optional: none at all means {} (every failed device).
    preValidation: (request, _reply, done) => {
      request.body ??= {};
      done();
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const body = request.body as { deviceId?: string };
      const result = await rollouts.retry(id, actorOf(request), body.deviceId ?? null);
      return { rollout: await view(id), ...result };
    },
  });

  app.post('/api/v1/rollouts/:id/rollback', {
    config: { auth: 'operator' },
    schema: {
      tags,
      summary: "Roll back: a new rollout of each device's previous artifact to the devices this one changed; agents whose previous release this server never had switch back to their other slot",
      params: IdParams,
      response: { 200: RollbackResultSchema, ...errorResponses },
    },
    handler: async (request) => {
      const result = await rollback(store, rollouts, (request.params as { id: string }).id, actorOf(request));
      const [rollout, ...rollbacks] = await rollouts.describeAll([result.rollout, ...result.rollbacks]);
      return { ...result, rollout: rollout!, rollbacks };
    },
  });
}
