// Contract tests of the Mender adapter's storage (migration 0006), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

for (const target of storeTargets) {
  describe(`mender repository (${target.name})`, async () => {
    const skip = await target.skip();
    let store: Store;
    beforeAll(async () => {
      if (!skip) store = await target.open();
    });
    afterAll(async () => {
      if (!skip) await store.close();
    });

    it.skipIf(skip)('stores one auth set per (device, key) and changes its status', async () => {
      const set = await store.mender.addAuthSet({ id: 's1', deviceId: 'm-1', identity: { mac: '02:00' }, pubkey: 'PEM1', status: 'pending' }, 1000);
      const again = await store.mender.addAuthSet({ id: 's2', deviceId: 'm-1', identity: { mac: '02:00' }, pubkey: 'PEM1', status: 'pending' }, 2000);
      expect(again.id).toBe(set.id);
      await store.mender.addAuthSet({ id: 's3', deviceId: 'm-1', identity: { mac: '02:00' }, pubkey: 'PEM2', status: 'pending' }, 3000);
      await store.mender.setAuthStatus('s1', 'accepted', 4000);
      expect((await store.mender.authSetFor('m-1', 'PEM1'))?.status).toBe('accepted');
      expect((await store.mender.listAuthSets('pending', 10)).map((s) => s.id)).toEqual(['s3']);
      expect((await store.mender.authSet('s3'))?.identity).toEqual({ mac: '02:00' });
    });

    it.skipIf(skip)('creates a secret once and keeps it', async () => {
      const first = await store.mender.secret('jwt', () => 'one', 1000);
      expect(await store.mender.secret('jwt', () => 'two', 2000)).toBe(first);
    });

  });
}
