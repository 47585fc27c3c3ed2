// The audit log over HTTP: GET /api/v1/events with filters (type or type prefix, rollout, device,
// time). Newest first by default, paged with an opaque cursor (nextCursor); with afterId, oldest
// first from there (how a client catches up after a reconnect), paged with nextAfterId.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { eventCursor, ValidationError } from '../core/index.js';
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

/** At most this many type patterns per request, each at most 128 characters. */
const MAX_TYPES = 20;

function instant(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new ValidationError(`${field} must be an ISO-8601 date-time or epoch milliseconds (got '${raw.slice(0, 60)}')`, [{ path: field, message: 'is not a date-time' }]);
  return ms;
}

function typesOf(raw: string | string[] | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const types = (Array.isArray(raw) ? raw : [raw]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (types.length > MAX_TYPES) throw new ValidationError(`type takes at most ${MAX_TYPES} types or prefixes (got ${types.length})`, [{ path: 'type', message: 'has too many values' }]);
  const long = types.find((t) => t.length > 128);
  if (long) throw new ValidationError(`type '${long.slice(0, 40)}…' is longer than 128 characters`, [{ path: 'type', message: 'is too long' }]);
  return types.length ? types : undefined;
}

export async function eventRoutes(app: FastifyInstance, deps: EventRouteDeps) {
  app.get('/api/v1/events', {
    config: { auth: 'viewer' },
    schema: {
      tags: ['events'],
      summary: 'The append-only event log, filtered: newest first and paged by cursor, or oldest first after an id',
      querystring: Type.Object({
        rolloutId: Type.Optional(Type.String({ maxLength: 128 })),
        deviceId: Type.Optional(Type.String({ maxLength: 128 })),
        type: Type.Optional(Type.Union([Type.String({ maxLength: 2600 }), Type.Array(Type.String({ maxLength: 128 }), { maxItems: MAX_TYPES })], { description: 'exact type or prefix ("execution.*", "rollout."); repeat or comma-separate for several (at most 20)' })),
        since: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 date-time (inclusive)' })),
        until: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 date-time (exclusive)' })),
        cursor: Type.Optional(Type.String({ maxLength: 64, description: 'the nextCursor of the previous page: older events, newest first' })),
        afterId: Type.Optional(Type.Integer({ minimum: 0, description: 'only events after this id, oldest first (not with cursor)' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      }),
      response: {
        200: Type.Object({
          items: Type.Array(EventSchema),
          nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'newest first: the cursor of the next (older) page, null on the last page' }),
          nextAfterId: Type.Union([Type.Integer(), Type.Null()], { description: 'with afterId: the afterId of the next page, null on the last page' }),
        }),
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const q = request.query as { rolloutId?: string; deviceId?: string; type?: string | string[]; since?: string; until?: string; cursor?: string; afterId?: number; limit?: number };
      const beforeId = eventCursor.decode(q.cursor) ?? undefined;
      if (beforeId !== undefined && q.afterId !== undefined) throw new ValidationError('pass either cursor (newest first) or afterId (oldest first), not both', [{ path: 'cursor', message: 'cannot be combined with afterId' }]);
      const limit = q.limit ?? 100;
      // One more than asked says whether another page follows.
      const rows = await deps.store.events.list({ rolloutId: q.rolloutId || undefined, deviceId: q.deviceId || undefined, type: typesOf(q.type), since: instant(q.since, 'since'), until: instant(q.until, 'until'), afterId: q.afterId, beforeId, limit: limit + 1 });
      const more = rows.length > limit;
      const items = more ? rows.slice(0, limit) : rows;
      const last = items.at(-1);
      const ascending = q.afterId !== undefined;
      return { items, nextCursor: !ascending && more && last ? eventCursor.encode(last.id) : null, nextAfterId: ascending && more && last ? last.id : null };
    },
  });
}
