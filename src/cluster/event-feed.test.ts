// The live event feed across servers on PostgreSQL, with the channel's LISTEN connection killed:
// while in use (the channel listens again and the feed misses nothing) and after stop() gave it
// back to the pool (released once; a second release would be an uncaught exception).
import { once } from 'node:events';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type EventRecord } from '../core/index.js';
import { EventLog, openStore, type Store } from '../store/index.js';
import { createTestDatabase, databaseName, postgresUnavailable, terminateSessions as terminate, type TestDatabase } from '../testing/postgres.js';
import type { ClusterChannel } from './channel.js';
import { EventFeed } from './event-feed.js';
import { PG_CHANNEL, PostgresChannel } from './postgres-channel.js';

const skip = await postgresUnavailable();

/** Resolves with the first batch that holds an event of `type`. */
function received(feed: EventFeed, type: string): Promise<EventRecord> {
  return new Promise((resolve) => {
    const off = feed.subscribe((records) => {
      const hit = records.find((r) => r.type === type);
      if (hit) {
        off();
        resolve(hit);
      }
    });
  });
}

describe.skipIf(skip)('EventFeed on PostgreSQL', () => {
  let db: TestDatabase;
  let database: string;
  const stores: Store[] = [];
  const logger = pino({ level: 'silent' });

  async function server(): Promise<{ store: Store; log: EventLog; feed: EventFeed; channel: ClusterChannel }> {
    const store = await openStore({ url: db.url, poolSize: 3 });
    stores.push(store);
    const log = new EventLog(store.events, systemClock);
    const channel = new PostgresChannel(store.notifications!, logger, { initialMs: 50, maxMs: 1000 });
    await channel.start();
    const feed = new EventFeed(log, store, channel, logger);
    await feed.start();
    return { store, log, feed, channel };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    database = databaseName(db.url);
  });
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => {});
    await db.drop();
  });

  it('reconnects when its LISTEN connection dies and delivers what was appended meanwhile', async () => {
    const a = await server();
    const b = await server();
    const first = received(b.feed, 'test.first');
    await a.log.append([{ type: 'test.first', data: {} }]);
    expect((await first).type).toBe('test.first');

    expect(await terminate(database, `LISTEN ${PG_CHANNEL}`)).toBe(2);
    const second = received(b.feed, 'test.second');
    await a.log.append([{ type: 'test.second', data: {} }]);
    expect((await second).type).toBe('test.second');
    for (const s of [a, b]) {
      await s.feed.stop();
      await s.channel.stop();
      await s.store.close();
    }
  });

  it('a connection that dies after stop() returned it to the pool is not released again', async () => {
    const { store, feed, channel } = await server();
    await feed.stop();
    await channel.stop();
    const idleError = once(store.handle.pool!, 'error');
    expect(await terminate(database, `UNLISTEN ${PG_CHANNEL}`)).toBe(1);
    // The pool drops the dead idle client; the feed's own handler must stay quiet.
    await idleError;
  });
});
