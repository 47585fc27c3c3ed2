import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../core/index.js';
import { storeTargets } from '../testing/stores.js';
import type { NewArtifact } from './artifact.repository.js';
import type { Store } from './index.js';

const file = (id: string, version: string, storageKey = 'k1'): NewArtifact => ({
  id,
  name: 'fw',
  version,
  kind: 'file',
  sha256: 'ab'.repeat(32),
  size: 5_000_000_000,
  contentType: 'application/octet-stream',
  signature: null,
  imageRef: null,
  storageKey,
  metadata: { note: 'x' },
});

for (const target of storeTargets) {
  describe(`artifact repository on ${target.name}`, async () => {
    const skip = await target.skip();
    let store: Store;
    beforeAll(async () => {
      if (!skip) store = await target.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it.skipIf(skip)('creates, reads back sizes beyond 4 GiB, lists newest first and pages', async () => {
      await store.artifacts.create(file('a1', '1.0.0'), 1000);
      await store.artifacts.create(file('a2', '1.0.1'), 2000);
      await store.artifacts.create({ ...file('a3', '2.0.0', 'k2'), name: 'other' }, 2000);
      const got = await store.artifacts.get('a1');
      expect(got).toMatchObject({ id: 'a1', size: 5_000_000_000, metadata: { note: 'x' }, storageKey: 'k1', createdAt: new Date(1000).toISOString() });
      expect((await store.artifacts.findByNameVersion('fw', '1.0.1'))?.id).toBe('a2');
      const first = await store.artifacts.list({ limit: 2 });
      expect(first.map((a) => a.id)).toEqual(['a3', 'a2']);
      const rest = await store.artifacts.list({ limit: 2, cursor: { createdAt: 2000, id: 'a2' } });
      expect(rest.map((a) => a.id)).toEqual(['a1']);
      expect(await store.artifacts.count('fw')).toBe(2);
      expect(await store.artifacts.countByStorageKey('k1')).toBe(2);
    });

    it.skipIf(skip)('refuses a second (name, version) with a ConflictError', async () => {
      await expect(store.artifacts.create(file('a4', '1.0.0'), 3000)).rejects.toBeInstanceOf(ConflictError);
    });

    it.skipIf(skip)('deletes', async () => {
      expect(await store.artifacts.delete('a1')).toBe(true);
      expect(await store.artifacts.delete('a1')).toBe(false);
      expect(await store.artifacts.get('a1')).toBeNull();
      expect(await store.artifacts.countByStorageKey('k1')).toBe(1);
    });
  });
}
