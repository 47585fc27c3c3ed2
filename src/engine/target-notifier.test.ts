// Target-change notifications cross servers on PostgreSQL (NOTIFY/LISTEN), chunked under the
// payload limit, and are not delivered twice to the server that sent them.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';
import { TargetNotifier } from './target-notifier.js';

describe('TargetNotifier', () => {
  it('fires local listeners without a database', () => {
    const notifier = new TargetNotifier();
    const seen: string[][] = [];
    const stop = notifier.subscribe((ids) => seen.push(ids));
    notifier.changed(['a', 'b']);
    notifier.changed([]);
    stop();
    notifier.changed(['c']);
    expect(seen).toEqual([['a', 'b']]);
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase | null = null;
    const pools: pg.Pool[] = [];
    const notifiers: TargetNotifier[] = [];
    beforeAll(async () => {
      if (await postgresUnavailable()) return;
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await Promise.all(notifiers.map((n) => n.stop()));
      await Promise.all(pools.map((p) => p.end()));
      await db?.drop();
    });

    it('reaches every server sharing the database, in chunks, once each', async (ctx) => {
      if (!db) return ctx.skip();
      pools.push(new pg.Pool({ connectionString: db.url }), new pg.Pool({ connectionString: db.url }));
      // A client still closing when afterAll drops the database WITH (FORCE) is killed by the
      // server; without a listener pg-pool re-emits that as an uncaught exception.
      for (const pool of pools) pool.on('error', () => undefined);
      const [a, b] = [new TargetNotifier(pools[0]), new TargetNotifier(pools[1])];
      notifiers.push(a, b);
      await a.start();
      await b.start();
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
      // Chunks travel on separate connections, so they may arrive in any order.
      expect([...atB].sort()).toEqual([...ids].sort());
      // The sender's own listeners fired once, locally, not again from its own NOTIFY.
      expect(atA).toEqual(ids);
    });
  });
});
