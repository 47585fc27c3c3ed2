// Contract tests of the hawkBit adapter's storage (migration 0006), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

for (const target of storeTargets) {
  describe(`hawkbit repository (${target.name})`, async () => {
    const skip = await target.skip();
    let store: Store;
    beforeAll(async () => {
      if (!skip) store = await target.open();
    });
    afterAll(async () => {
      if (!skip) await store.close();
    });

    it.skipIf(skip)('gives each execution one stable numeric action id and records offer and cancel acknowledgement once', async () => {
      const a = await store.hawkbit.actionFor('exec-a', 'dev-1', 1000);
      const b = await store.hawkbit.actionFor('exec-b', 'dev-1', 1001);
      expect(typeof a.id).toBe('number');
      expect(b.id).toBeGreaterThan(a.id);
      expect((await store.hawkbit.actionFor('exec-a', 'dev-1', 2000)).id).toBe(a.id);
      await store.hawkbit.markOffered(a.id, 'skip', 3000);
      await store.hawkbit.markOffered(a.id, 'forced', 4000);
      await store.hawkbit.ackCancel(a.id, 5000);
      expect(await store.hawkbit.action(a.id)).toEqual({ id: a.id, executionId: 'exec-a', deviceId: 'dev-1', offeredAt: 3000, cancelAckedAt: 5000, lastUpdateMode: 'forced' });
      expect((await store.hawkbit.recentActions('dev-1', 5)).map((x) => x.executionId)).toEqual(['exec-b', 'exec-a']);
      expect(await store.hawkbit.action(99999)).toBeNull();
    });

    it.skipIf(skip)('keeps gateway token hashes per tenant, replacing on rotation', async () => {
      expect(await store.hawkbit.gatewayTokenHash('DEFAULT')).toBeNull();
      await store.hawkbit.setGatewayToken('DEFAULT', 'h1', 1000);
      await store.hawkbit.setGatewayToken('DEFAULT', 'h2', 2000);
      expect(await store.hawkbit.gatewayTokenHash('DEFAULT')).toBe('h2');
    });

    it.skipIf(skip)('keeps sha1/md5 per artifact', async () => {
      await store.hawkbit.saveArtifactHashes('art-1', { sha1: 'a', md5: 'b' }, 1000);
      expect(await store.hawkbit.artifactHashes('art-1')).toEqual({ sha1: 'a', md5: 'b' });
      expect(await store.hawkbit.artifactHashes('art-2')).toBeNull();
    });
  });
}
