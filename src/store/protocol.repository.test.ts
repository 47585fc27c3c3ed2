// Contract tests of the protocol adapters' storage (migration 0006), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

for (const target of storeTargets) {
  describe(`protocol repository (${target.name})`, async () => {
    const skip = await target.skip();
    let store: Store;
    beforeAll(async () => {
      if (!skip) store = await target.open();
    });
    afterAll(async () => {
      if (!skip) await store.close();
    });

    it.skipIf(skip)('gives each execution one stable numeric action id and records offer and cancel acknowledgement once', async () => {
      const a = await store.protocols.actionFor('exec-a', 'dev-1', 1000);
      const b = await store.protocols.actionFor('exec-b', 'dev-1', 1001);
      expect(typeof a.id).toBe('number');
      expect(b.id).toBeGreaterThan(a.id);
      expect((await store.protocols.actionFor('exec-a', 'dev-1', 2000)).id).toBe(a.id);
      await store.protocols.markOffered(a.id, 'skip', 3000);
      await store.protocols.markOffered(a.id, 'forced', 4000);
      await store.protocols.ackCancel(a.id, 5000);
      expect(await store.protocols.action(a.id)).toEqual({ id: a.id, executionId: 'exec-a', deviceId: 'dev-1', offeredAt: 3000, cancelAckedAt: 5000, lastUpdateMode: 'forced' });
      expect((await store.protocols.recentActions('dev-1', 5)).map((x) => x.executionId)).toEqual(['exec-b', 'exec-a']);
      expect(await store.protocols.action(99999)).toBeNull();
    });

    it.skipIf(skip)('keeps gateway token hashes per tenant, replacing on rotation', async () => {
      expect(await store.protocols.gatewayTokenHash('DEFAULT')).toBeNull();
      await store.protocols.setGatewayToken('DEFAULT', 'h1', 1000);
      await store.protocols.setGatewayToken('DEFAULT', 'h2', 2000);
      expect(await store.protocols.gatewayTokenHash('DEFAULT')).toBe('h2');
    });

    it.skipIf(skip)('stores one auth set per (device, key) and changes its status', async () => {
      const set = await store.protocols.addAuthSet({ id: 's1', deviceId: 'm-1', identity: { mac: '02:00' }, pubkey: 'PEM1', status: 'pending' }, 1000);
      const again = await store.protocols.addAuthSet({ id: 's2', deviceId: 'm-1', identity: { mac: '02:00' }, pubkey: 'PEM1', status: 'pending' }, 2000);
      expect(again.id).toBe(set.id);
      await store.protocols.addAuthSet({ id: 's3', deviceId: 'm-1', identity: { mac: '02:00' }, pubkey: 'PEM2', status: 'pending' }, 3000);
      await store.protocols.setAuthStatus('s1', 'accepted', 4000);
      expect((await store.protocols.authSetFor('m-1', 'PEM1'))?.status).toBe('accepted');
      expect((await store.protocols.listAuthSets('pending', 10)).map((s) => s.id)).toEqual(['s3']);
      expect((await store.protocols.authSet('s3'))?.identity).toEqual({ mac: '02:00' });
    });

    it.skipIf(skip)('creates a secret once and keeps it', async () => {
      const first = await store.protocols.secret('jwt', () => 'one', 1000);
      expect(await store.protocols.secret('jwt', () => 'two', 2000)).toBe(first);
    });

    it.skipIf(skip)('keeps sha1/md5 per artifact', async () => {
      await store.protocols.saveArtifactHashes('art-1', { sha1: 'a', md5: 'b' }, 1000);
      expect(await store.protocols.artifactHashes('art-1')).toEqual({ sha1: 'a', md5: 'b' });
      expect(await store.protocols.artifactHashes('art-2')).toBeNull();
    });
  });
}
