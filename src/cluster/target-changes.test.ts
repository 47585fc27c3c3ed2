// Target changes cross servers over the cluster channel (on PostgreSQL: NOTIFY/LISTEN), chunked
// under the payload limit, and are not delivered twice to the server that sent them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';
import { MAX_PAYLOAD_BYTES } from './channel.js';
import { InProcessBus, InProcessChannel } from './in-process-channel.js';
import { PostgresChannel } from './postgres-channel.js';
import { TargetChanges, TARGETS_TOPIC } from './target-changes.js';

describe('TargetChanges', () => {
  it('fires local listeners on one server alone', () => {
    const changes = new TargetChanges(new InProcessChannel());
    const seen: string[][] = [];
    const stop = changes.subscribe((ids) => seen.push(ids));
    changes.changed(['a', 'b']);
    changes.changed([]);
    changes.changedHere(['c']);
    stop();
    changes.changed(['d']);
    expect(seen).toEqual([['a', 'b'], ['c']]);
  });

  it('sends other servers chunks that each fit in a payload', async () => {
    const bus = new InProcessBus();
    const [a, b] = [new InProcessChannel(bus), new InProcessChannel(bus)];
    await a.start();
    await b.start();
    const sizes: number[] = [];
    b.subscribe(TARGETS_TOPIC, (ids) => sizes.push(Buffer.byteLength(JSON.stringify(ids))));
    const atB: string[] = [];
    const all = new Promise<void>((resolve) =>
      new TargetChanges(b).subscribe((chunk) => {
        atB.push(...chunk);
        if (atB.length >= 3000) resolve();
      }),
    );
    const ids = Array.from({ length: 3000 }, (_, i) => `device-with-a-longish-id-${i}-é`);
    new TargetChanges(a).changed(ids);
    await all;
    expect(atB).toEqual(ids);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    await a.stop();
    await b.stop();
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase | null = null;
    const stores: Store[] = [];
    const channels: PostgresChannel[] = [];
    beforeAll(async () => {
      if (await postgresUnavailable()) return;
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await Promise.all(channels.map((c) => c.stop()));
      await Promise.all(stores.map((s) => s.close()));
      await db?.drop();
    });

    it('reaches every server sharing the database, in chunks, once each', async (ctx) => {
      if (!db) return ctx.skip();
      stores.push(await openStore({ url: db.url, poolSize: 2 }), await openStore({ url: db.url, poolSize: 2 }));
      channels.push(new PostgresChannel(stores[0]!.notifications!), new PostgresChannel(stores[1]!.notifications!));
      await channels[0]!.start();
      await channels[1]!.start();
      const [a, b] = [new TargetChanges(channels[0]!), new TargetChanges(channels[1]!)];
      const ids = Array.from({ length: 3000 }, (_, i) => `device-with-a-longish-id-${i}`);
      const atB: string[] = [];
      const atA: string[] = [];
      a.subscribe((chunk) => atA.push(...chunk));
      const all = new Promise<void>((resolve) =>
        b.subscribe((chunk) => {
          atB.push(...chunk);
          if (atB.length >= ids.length) resolve();
        }),
      );
      a.changed(ids);
      await all;
      // One after another on one session: the chunks arrive in order.
      expect(atB).toEqual(ids);
      // The sender's own listeners heard them once, locally, not again from its own NOTIFY.
      await channels[0]!.stop();
      expect(atA).toEqual(ids);
    });
  });
});
