// The audit log over HTTP: GET /api/v1/events with filters. Newest first by default; with afterId,
// oldest first from there (how a client catches up after a reconnect).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../core/index.js';
import type { Store } from '../store/index.js';
import { errorResponses } from './schemas.js';

export interface EventRouteDeps {
  store: Store;
}

const EventSchema = Type.Object({
  id: Type.Integer(),
  ts: Type.String({ format: 'date-time' }),
  type: Type.String(),
  actor: Type.Union([Type.String(), Type.Null()]),
  rolloutId: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  executionId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
});

function instant(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new ValidationError(`${field} must be an ISO-8601 date-time or epoch milliseconds (got '${raw.slice(0, 60)}')`, [{ path: field, message: 'is not a date-time' }]);
  return ms;
}

export async function eventRoutes(app: FastifyInstance, deps: EventRouteDeps) {
  app.get('/api/v1/events', {
    config: { auth: 'viewer' },
    schema: {
      tags: ['events'],
      summary: 'The append-only event log, filtered',
      querystring: Type.Object({
        rolloutId: Type.Optional(Type.String({ maxLength: 128 })),
        deviceId: Type.Optional(Type.String({ maxLength: 128 })),
        type: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'exact type or prefix ("execution.*", "rollout."); repeat or comma-separate for several' })),
        since: Type.Optional(Type.String({ description: 'ISO-8601 date-time (inclusive)' })),
        until: Type.Optional(Type.String({ description: 'ISO-8601 date-time (exclusive)' })),
        afterId: Type.Optional(Type.Integer({ minimum: 0, description: 'only events after this id, oldest first' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      }),
      response: { 200: Type.Object({ items: Type.Array(EventSchema), nextAfterId: Type.Union([Type.Integer(), Type.Null()]) }), ...errorResponses },
    },
    handler: async (request) => {
      const q = request.query as { rolloutId?: string; deviceId?: string; type?: string | string[]; since?: string; until?: string; afterId?: number; limit?: number };
      const types = q.type === undefined ? undefined : (Array.isArray(q.type) ? q.type : [q.type]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
      const limit = q.limit ?? 100;
      const items = await deps.store.events.list({ rolloutId: q.rolloutId, deviceId: q.deviceId, type: types, since: instant(q.since, 'since'), until: instant(q.until, 'until'), afterId: q.afterId, limit });
      const last = items.at(-1);
      return { items, nextAfterId: q.afterId !== undefined && items.length === limit && last ? last.id : null };
    },
  });
}
