// The cluster channel's contract, run on both implementations: the in-process one (servers of one
// process on a shared bus, as SQLite's one server is alone on its own) and the PostgreSQL one
// (servers on their own stores and pools, LISTEN/NOTIFY between them).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { createTestDatabase, databaseName, idleSessions, postgresUnavailable, terminateSessions, type TestDatabase } from '../testing/postgres.js';
import { MAX_PAYLOAD_BYTES, topic, type ClusterChannel, type MessageHandler, type Topic } from './channel.js';
import { InProcessBus, InProcessChannel } from './in-process-channel.js';
import { PG_CHANNEL, PostgresChannel } from './postgres-channel.js';

interface Harness {
  /** A new server's channel, started. */
  server(): Promise<ClusterChannel>;
  /** Terminates every LISTEN connection; answers how many (only where there are connections). */
  kill?: () => Promise<number>;
  /** How many sessions listen on the channel now (only where there are sessions). */
  listening?: () => Promise<number>;
  close(): Promise<void>;
}

const A = topic<{ n: number }>('contract.a');
const B = topic<string>('contract.b');

/** Resolves with the first payload `predicate` accepts. */
function next<T>(channel: ClusterChannel, on: Topic<T>, predicate: (payload: T, origin: string) => boolean = () => true): Promise<{ payload: T; origin: string }> {
  return new Promise((resolve) => {
    const off = channel.subscribe(on, (payload, origin) => {
      if (!predicate(payload, origin)) return;
      off();
      resolve({ payload, origin });
    });
  });
}

function recorder<T>(): { seen: T[]; handler: MessageHandler<T> } {
  const seen: T[] = [];
  return { seen, handler: (payload) => seen.push(payload) };
}

function inProcess(): Harness {
  const bus = new InProcessBus();
  const channels: InProcessChannel[] = [];
  return {
    async server() {
      const channel = new InProcessChannel(bus);
      channels.push(channel);
      await channel.start();
      return channel;
    },
    async close() {
      for (const c of channels) await c.stop();
    },
  };
}

async function postgres(db: TestDatabase): Promise<Harness> {
  const database = databaseName(db.url);
  const stores: Store[] = [];
  const channels: PostgresChannel[] = [];
  return {
    async server() {
      const store = await openStore({ url: db.url, poolSize: 2 });
      stores.push(store);
      const channel = new PostgresChannel(store.notifications!, undefined, { initialMs: 20, maxMs: 500 });
      channels.push(channel);
      await channel.start();
      return channel;
    },
    kill: () => terminateSessions(database, `LISTEN ${PG_CHANNEL}`),
    listening: () => idleSessions(database, `LISTEN ${PG_CHANNEL}`),
    async close() {
      for (const c of channels) await c.stop();
      for (const s of stores) await s.close();
    },
  };
}

const unavailable = await postgresUnavailable();

function contract(name: string, make: () => Promise<Harness>): void {
  describe(`ClusterChannel contract: ${name}`, () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await make();
    });
    afterEach(async () => {
      await harness.close();
      harness = await make();
    });
    afterAll(() => harness.close());

    it('delivers a publication to this server at once and to the other servers, with its origin', async () => {
      const [a, b, c] = [await harness.server(), await harness.server(), await harness.server()];
      const here = recorder<{ n: number }>();
      a.subscribe(A, here.handler);
      const atB = next(b, A);
      const atC = next(c, A);
      a.publish(A, { n: 1 });
      expect(here.seen).toEqual([{ n: 1 }]);
      expect(await atB).toEqual({ payload: { n: 1 }, origin: a.serverId });
      expect(await atC).toEqual({ payload: { n: 1 }, origin: a.serverId });
      expect(new Set([a.serverId, b.serverId, c.serverId]).size).toBe(3);
      expect(a.reachesOtherServers).toBe(true);
    });

    it('keeps topics apart', async () => {
      const [a, b] = [await harness.server(), await harness.server()];
      const onA = recorder<{ n: number }>();
      const onB = recorder<string>();
      b.subscribe(A, onA.handler);
      b.subscribe(B, onB.handler);
      // The channel keeps one server's order: once the second arrived, the first had.
      const second = next(b, B, (p) => p === 'second');
      a.publish(A, { n: 1 });
      a.publish(B, 'second');
      await second;
      expect(onA.seen).toEqual([{ n: 1 }]);
      expect(onB.seen).toEqual(['second']);
    });

    it('skips a server\'s own publications for subscribers that take others\' only, and never delivers them twice', async () => {
      const [a, b] = [await harness.server(), await harness.server()];
      const all = recorder<string>();
      const others = recorder<string>();
      a.subscribe(B, all.handler);
      a.subscribe(B, others.handler, { othersOnly: true });
      const atB = next(b, B);
      a.publish(B, 'from a');
      await atB;
      // Published after a's arrived at b, so a's own echo, were there one, would come before it.
      const fromB = next(a, B, (p) => p === 'from b');
      b.publish(B, 'from b');
      await fromB;
      expect(all.seen).toEqual(['from a', 'from b']);
      expect(others.seen).toEqual(['from b']);
      // deliverHere: this server's subscribers only, those taking their own.
      const here = recorder<string>();
      b.subscribe(B, here.handler);
      a.deliverHere(B, 'here only');
      expect(all.seen.at(-1)).toBe('here only');
      expect(others.seen).toEqual(['from b']);
      const marker = next(b, B, (p) => p === 'marker');
      a.publish(B, 'marker');
      await marker;
      expect(here.seen).toEqual(['marker']);
    });

    it('refuses a payload larger than every implementation carries', async () => {
      const a = await harness.server();
      expect(() => a.publish(B, 'x'.repeat(MAX_PAYLOAD_BYTES))).toThrow(RangeError);
      expect(() => a.publish(B, 'é'.repeat(MAX_PAYLOAD_BYTES / 2))).toThrow(RangeError);
      expect(() => a.publish(B, 'x'.repeat(MAX_PAYLOAD_BYTES - 2))).not.toThrow();
    });

    it('a failing handler breaks neither the other handlers nor the sender', async () => {
      const [a, b] = [await harness.server(), await harness.server()];
      a.subscribe(B, () => {
        throw new Error('broken here');
      });
      b.subscribe(B, () => {
        throw new Error('broken there');
      });
      const atB = next(b, B);
      expect(() => a.publish(B, 'still')).not.toThrow();
      expect((await atB).payload).toBe('still');
    });

    it('stop lets go of everything: no more deliveries, no subscriber, no connection', async () => {
      const [a, b, c] = [await harness.server(), await harness.server(), await harness.server()];
      const atB = recorder<string>();
      b.subscribe(B, atB.handler);
      const first = [next(b, B, (p) => p === 'first'), next(c, B, (p) => p === 'first')];
      a.publish(B, 'first');
      await Promise.all(first);
      expect(atB.seen).toEqual(['first']);
      const before = await harness.listening?.();
      await b.stop();
      const after = await harness.listening?.();
      if (before !== undefined) expect(after).toBe(before - 1);
      const second = next(c, B, (p) => p === 'second');
      a.publish(B, 'second');
      await second;
      // Stopped: its subscribers are gone, so neither the second (which c heard) nor its own reach them.
      b.deliverHere(B, 'after stop');
      expect(atB.seen).toEqual(['first']);
      await a.stop();
      await c.stop();
      if (harness.listening) expect(await harness.listening()).toBe(0);
    });

    // Only an implementation with a connection to lose can lose it.
    if (name === 'PostgreSQL') {
      it('listens again after its LISTEN connection is killed, and says so', async () => {
        const [a, b] = [await harness.server(), await harness.server()];
        const resumedA = new Promise<void>((resolve) => a.onResume(resolve));
        const resumedB = new Promise<void>((resolve) => b.onResume(resolve));
        expect(await harness.kill!()).toBe(2);
        await Promise.all([resumedA, resumedB]);
        const atB = next(b, A, (_, origin) => origin === a.serverId);
        const atA = next(a, A, (_, origin) => origin === b.serverId);
        a.publish(A, { n: 2 });
        b.publish(A, { n: 3 });
        expect((await atB).payload).toEqual({ n: 2 });
        expect((await atA).payload).toEqual({ n: 3 });
        expect(await harness.listening!()).toBe(2);
      });
    }
  });
}

contract('in process', async () => inProcess());

describe.skipIf(unavailable !== null)('on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('uo_channel');
  });
  afterAll(() => db?.drop());
  contract('PostgreSQL', () => postgres(db));
});

describe('the in-process channel of one server alone', () => {
  it('reaches only this server', async () => {
    const alone = new InProcessChannel();
    await alone.start();
    expect(alone.reachesOtherServers).toBe(false);
    const seen = recorder<string>();
    alone.subscribe(B, seen.handler);
    alone.publish(B, 'x');
    expect(seen.seen).toEqual(['x']);
    await alone.stop();
  });
});
