// The target cache on its own: what it keeps of an idle device (only the ETag) answers exactly
// what a fresh computation would, a target change drops it, and a computation that raced a change
// answers its caller but is not cached.
import { describe, expect, it } from 'vitest';
import type { DeviceTarget } from '../engine/device-sync.js';
import { TargetCache } from './target-cache.js';
import { strongEtag } from '../http/index.js';

function harness() {
  let listener: (ids: string[]) => void = () => {};
  const targets = new Map<string, DeviceTarget | null>();
  let computed = 0;
  let hold: Promise<void> | null = null;
  const cache = new TargetCache({
    sync: {
      currentTarget: async (id) => {
        computed++;
        if (hold) await hold;
        return targets.get(id) ?? null;
      },
      onTargetChanged: (l) => ((listener = l), () => {}),
    },
    enrollmentOf: async (id) => (id.startsWith('pending') ? 'pending' : id === 'gone' ? null : 'accepted'),
    downloadUrl: () => null,
    pollIntervalSeconds: 300,
  });
  return { cache, targets, changed: (...ids: string[]) => listener(ids), computed: () => computed, holdWith: (p: Promise<void> | null) => (hold = p) };
}

const release = {
  execution: { id: 'e1', rolloutId: 'r1' },
  rollout: { id: 'r1', downloadAhead: false, revert: null },
  artifact: { id: 'a1', name: 'pos', version: '2.0.0', sha256: 'ab'.repeat(32), size: 10, signature: null, imageRef: 'registry/pos:2', kind: 'image', metadata: {} },
  gate: { action: 'install', installAfter: null },
} as unknown as DeviceTarget;

describe('TargetCache', () => {
  it('keeps only the ETag of an idle device and rebuilds the same answer from it', async () => {
    const h = harness();
    const first = (await h.cache.get('dev-1'))!;
    expect(first.state).toEqual({ deviceId: 'dev-1', enrollment: 'accepted', pollIntervalSeconds: 300, update: null });
    expect(first.etag).toBe(strongEtag(first.body));
    const again = (await h.cache.get('dev-1'))!;
    expect(again).toEqual(first);
    expect(h.cache.etagOf('dev-1')).toBe(first.etag);
    expect(h.computed()).toBe(1);
  });

  it('keeps a device with an update whole, and recomputes after its target changed', async () => {
    const h = harness();
    const idle = (await h.cache.get('dev-2'))!;
    h.targets.set('dev-2', release);
    expect(h.cache.etagOf('dev-2')).toBe(idle.etag);
    h.changed('dev-2');
    expect(h.cache.etagOf('dev-2')).toBeUndefined();
    const updated = (await h.cache.get('dev-2'))!;
    expect(updated.state.update).toMatchObject({ executionId: 'e1', version: '2.0.0', imageRef: 'registry/pos:2' });
    expect(updated.etag).not.toBe(idle.etag);
    expect(await h.cache.get('dev-2')).toBe(updated);
    expect(h.cache.etagOf('dev-2')).toBe(updated.etag);
  });

  it('answers a computation that raced a change but does not cache it; pending and unknown devices are not cached', async () => {
    const h = harness();
    let unblock!: () => void;
    h.holdWith(new Promise<void>((r) => (unblock = r)));
    const racing = h.cache.get('dev-3');
    await new Promise((r) => setImmediate(r));
    h.targets.set('dev-3', release);
    h.changed('dev-3');
    h.holdWith(null);
    unblock();
    // The racing caller gets what it computed, the cache keeps nothing of it: the next asks again.
    expect((await racing)!.state.update).toMatchObject({ executionId: 'e1' });
    expect(h.cache.etagOf('dev-3')).toBeUndefined();
    const computed = h.computed();
    expect((await h.cache.get('dev-3'))!.state.update).toMatchObject({ executionId: 'e1' });
    expect(h.computed()).toBe(computed + 1);
    expect(h.cache.etagOf('dev-3')).toBeDefined();
    expect((await h.cache.get('pending-1'))!.state.enrollment).toBe('pending');
    expect(h.cache.etagOf('pending-1')).toBeUndefined();
    expect(await h.cache.get('gone')).toBeNull();
    expect(h.cache.size).toBe(1);
  });
});
