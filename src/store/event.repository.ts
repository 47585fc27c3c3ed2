// The append-only event log. Appends are batched into one statement; reads page by id.
import { sql, type Kysely } from 'kysely';
import { eventTypePrefix, type EventQuery, type EventRecord, type NewEvent } from '../core/index.js';
import { chunks } from './device.repository.js';
import type { Database, EventRow } from './schema.js';

type Row = Omit<EventRow, 'id'> & { id: number };

export function toEvent(row: Row): EventRecord {
  return {
    id: Number(row.id),
    ts: new Date(row.ts).toISOString(),
    type: row.type,
    actor: row.actor,
    rolloutId: row.rollout_id,
    deviceId: row.device_id,
    executionId: row.execution_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

export class EventRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxParams: number,
  ) {}

  /**
   * Appends events (in a unit of work, they commit with the change they describe). Only the ids
   * are read back (the record is what was written): one statement's ids rise in its rows' order on
   * both dialects (SQLite's AUTOINCREMENT, PostgreSQL's sequence), so sorted they pair with the rows
   * whatever order RETURNING answers in.
   */
  async append(events: NewEvent[], now: number): Promise<EventRecord[]> {
    const out: EventRecord[] = [];
    const ts = new Date(now).toISOString();
    for (const chunk of chunks(events, Math.floor(this.maxParams / 7))) {
      const rows = await this.db
        .insertInto('events')
        .values(
          chunk.map((e) => ({
            ts: now,
            type: e.type,
            actor: e.actor ?? null,
            rollout_id: e.rolloutId ?? null,
            device_id: e.deviceId ?? null,
            execution_id: e.executionId ?? null,
            data: JSON.stringify(e.data ?? {}),
          })),
        )
        .returning('id')
        .execute();
      const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      chunk.forEach((e, i) =>
        out.push({ id: ids[i]!, ts, type: e.type, actor: e.actor ?? null, rolloutId: e.rolloutId ?? null, deviceId: e.deviceId ?? null, executionId: e.executionId ?? null, data: e.data ?? {} }),
      );
    }
    return out;
  }

  async list(query: EventQuery): Promise<EventRecord[]> {
    let q = this.db.selectFrom('events').selectAll();
    if (query.rolloutId) q = q.where('rollout_id', '=', query.rolloutId);
    if (query.deviceId) q = q.where('device_id', '=', query.deviceId);
    if (query.type?.length) {
      const types = query.type;
      // A prefix is compared as text, not with LIKE: "%" and "_" in a filter are characters, and
      // SQLite's LIKE would also ignore case where PostgreSQL's does not.
      q = q.where((eb) =>
        eb.or(
          types.map((t) => {
            const prefix = eventTypePrefix(t);
            return prefix === null ? eb('type', '=', t) : eb(sql<string>`substr(type, 1, ${prefix.length})`, '=', prefix);
          }),
        ),
      );
    }
    if (query.since !== undefined) q = q.where('ts', '>=', query.since);
    if (query.until !== undefined) q = q.where('ts', '<', query.until);
    if (query.afterId !== undefined) {
      q = q.where('id', '>', query.afterId).orderBy('id', 'asc');
    } else {
      if (query.beforeId !== undefined) q = q.where('id', '<', query.beforeId);
      q = q.orderBy('id', 'desc');
    }
    return (await q.limit(query.limit).execute()).map((r) => toEvent(r as Row));
  }

  async lastId(): Promise<number> {
    const row = await this.db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    return Number(row?.id ?? 0);
  }
}
