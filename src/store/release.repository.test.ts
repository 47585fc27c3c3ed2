// Contract suite for release persistence, run on SQLite and on PostgreSQL.
import { describe, expect, it } from 'vitest';
import type { Release } from '../core/index.js';
import { storeTargets, useStore } from '../testing/stores.js';
import type { NewArtifact } from './artifact.repository.js';
import type { Store } from './index.js';

const file = (id: string): NewArtifact => ({ id, name: id, version: '1', kind: 'file', sha256: 'ab'.repeat(32), size: 3, contentType: 'application/octet-stream', signature: null, imageRef: null, storageKey: 'k', metadata: {} });

const release = (id: string, version: string, at: number, artifacts: Release['artifacts']): Release => ({ id, name: 'pos', version, artifacts, createdBy: 'token:t', createdAt: new Date(at).toISOString() });

for (const target of storeTargets) {
  describe(`release repository on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));

    it('stores a release with its artifacts in order, pages newest first, refuses a taken version and deletes', async (ctx) => {
      if (skip.reason) return ctx.skip();
      for (const id of ['os-a', 'os-b', 'app']) await store.artifacts.create(file(id), 1);
      const parts: Release['artifacts'] = [
        { artifactId: 'os-a', component: 'os', match: { protocol: ['hawkbit'], deviceType: '{rev-a,rev-b}' }, position: 0 },
        { artifactId: 'os-b', component: 'os', match: { protocol: ['mender', 'agent'], deviceType: null }, position: 1 },
        { artifactId: 'app', component: 'app', match: { protocol: null, deviceType: 'rpi*' }, position: 2 },
      ];
      await store.releases.create(release('r1', '1.0.0', 1000, parts));
      await store.releases.create(release('r2', '1.0.1', 2000, [parts[2]!]));
      await store.releases.create(release('r3', '1.0.2', 2000, [parts[0]!]));
      expect(await store.releases.get('r1')).toEqual(release('r1', '1.0.0', 1000, parts));
      await expect(store.releases.create(release('r4', '1.0.0', 3000, parts))).rejects.toThrow(/already exists/);
      expect(await store.releases.get('r4')).toBeNull();
      const first = await store.releases.list({ limit: 2 });
      expect(first.map((r) => r.id)).toEqual(['r3', 'r2']);
      const rest = await store.releases.list({ limit: 2, cursor: { createdAt: 2000, id: 'r2' } });
      expect(rest.map((r) => r.id)).toEqual(['r1']);
      expect(rest[0]!.artifacts).toHaveLength(3);
      expect(await store.releases.count()).toBe(3);
      expect(await store.releases.containsArtifact('os-b')).toBe(true);
      expect(await store.releases.delete('r1')).toBe(true);
      expect(await store.releases.delete('r1')).toBe(false);
      expect(await store.releases.containsArtifact('os-b')).toBe(false);
      expect(await store.releases.containsArtifact('app')).toBe(true);
    });
  });
}
