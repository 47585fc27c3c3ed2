// Contract tests of the store's unit of work, on SQLite and PostgreSQL: the repositories of
// store.transaction write together or not at all, and read their own writes before the commit.
import { describe, expect, it } from 'vitest';
import { deviceInput } from '../testing/engine.js';
import { storeTargets, useStore } from '../testing/stores.js';
import { ADMIN_URL, createTestDatabase, postgresUnavailable } from '../testing/postgres.js';
import { dropDatabase } from '../testing/raw-sql.js';
import { openStore, type Store } from './index.js';

for (const target of storeTargets) {
  describe(`store.transaction on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));

    it('commits what its repositories wrote, which they read back before the commit', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const answer = await store.transaction(async (tx) => {
        await tx.devices.create(deviceInput('uow-commit'), 100);
        const [event] = await tx.events.append([{ type: 'device.created', actor: 'test', deviceId: 'uow-commit' }], 100);
        expect((await tx.devices.get('uow-commit'))?.id).toBe('uow-commit');
        expect((await tx.events.list({ deviceId: 'uow-commit', limit: 10 })).map((e) => e.id)).toEqual([event!.id]);
        return 'done';
      });
      expect(answer).toBe('done');
      expect((await store.devices.get('uow-commit'))?.id).toBe('uow-commit');
      expect((await store.events.list({ deviceId: 'uow-commit', limit: 10 })).map((e) => e.type)).toEqual(['device.created']);
    });

    it('rolls every repository back when the work throws, and rethrows', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const failure = new Error('the work failed');
      await expect(
        store.transaction(async (tx) => {
          await tx.devices.create(deviceInput('uow-rollback'), 100);
          await tx.events.append([{ type: 'device.created', actor: 'test', deviceId: 'uow-rollback' }], 100);
          await tx.tokens.create({ kind: 'operator', role: 'viewer', name: 'uow-rollback' }, 100);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await store.devices.get('uow-rollback')).toBeNull();
      expect(await store.events.list({ deviceId: 'uow-rollback', limit: 10 })).toEqual([]);
      expect((await store.tokens.list()).filter((t) => t.name === 'uow-rollback')).toEqual([]);
    });

    // SQLite has one connection: a read outside the open transaction waits for it to end.
    it.runIf(target.name === 'postgres')('keeps its writes from other connections until the commit', async (ctx) => {
      if (skip.reason) return ctx.skip();
      let seenOutside: unknown = 'not read';
      await store.transaction(async (tx) => {
        await tx.devices.create(deviceInput('uow-isolated'), 100);
        seenOutside = await store.devices.get('uow-isolated');
      });
      expect(seenOutside).toBeNull();
      expect((await store.devices.get('uow-isolated'))?.id).toBe('uow-isolated');
    });
  });
}

describe('store.transaction on postgres when the connection dies', () => {
  it('fails that unit of work, not the process (a lent client emits its error with no listener of the pool)', async (ctx) => {
    const reason = await postgresUnavailable();
    if (reason) return ctx.skip(reason);
    const db = await createTestDatabase();
    const store = await openStore({ url: db.url });
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const work = store.transaction(async (tx) => {
        await tx.devices.get('before');
        // Every connection to the database ends, the lent one inside this transaction too.
        await dropDatabase(ADMIN_URL, new URL(db.url).pathname.slice(1));
        await tx.devices.get('after');
      });
      await expect(work).rejects.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
      await store.close().catch(() => {});
    }
  });
});
