// Policies against the real services on SQLite and PostgreSQL: a matching push records an image
// artifact and starts a rollout through the rollout service with the policy's filter and template.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactService, BlobStore } from '../artifacts/index.js';
import { systemClock } from '../core/index.js';
import { createEngine } from '../engine/create-engine.js';
import { seedDevices } from '../testing/engine.js';
import { EventLog, type Store } from '../store/index.js';
import { storeTargets } from '../testing/stores.js';
import { PolicyService } from './policy.service.js';
import type { RegistryPush } from './registry-payload.js';
import { openChannel } from '../cluster/open-channel.js';

const push = (tag: string, digest: string | null = null): RegistryPush => ({
  source: 'ghcr',
  imageRef: `ghcr.io/acme/pos-app:${tag}${digest ? `@${digest}` : ''}`,
  repository: 'acme/pos-app',
  tag,
  digest,
  pusher: 'ci',
});

for (const target of storeTargets) {
  describe(`PolicyService on ${target.name}`, () => {
    let store: Store;
    let skip: string | null = null;
    let dir: string;
    let service: PolicyService;
    let rollouts: ReturnType<typeof createEngine>['rollouts'];
    beforeAll(async () => {
      skip = await target.skip();
      if (skip) return;
      store = await target.open();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-policy-'));
      const events = new EventLog(store.events, systemClock);
      const artifacts = new ArtifactService({ artifacts: store.artifacts, blobs: new BlobStore(dir), events, clock: systemClock, maxBytes: 1 << 20, requireSigned: false, trustedKeys: [], isInUse: async () => false });
      rollouts = createEngine({ store, channel: openChannel(store), events, clock: systemClock, transports: new Map(), concurrency: 1 }).rollouts;
      service = new PolicyService({ policies: store.policies, events, clock: systemClock, artifacts, createRollout: (input, actor) => rollouts.create(input, actor) });
      await seedDevices(store, 6, { location: 'west' }, 'west');
      await seedDevices(store, 3, { location: 'east' }, 'east');
    });
    afterAll(async () => {
      await store?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('starts a rollout from the template over the policy filter for a matching push only', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const policy = await service.create({ name: 'west-pos', image: 'ghcr.io/acme/*:v*', filter: { location: 'west' }, template: { strategy: 'progressive', phases: [{ percent: 50 }, { percent: 100 }] } }, 'test');
      await service.create({ name: 'off', image: '**', enabled: false }, 'test');
      expect(await service.trigger(push('latest'), 'webhook')).toEqual([]);

      const [result] = await service.trigger(push('v2.0.0', `sha256:${'b'.repeat(64)}`), 'webhook');
      expect(result).toMatchObject({ policyId: policy.id, error: null });
      const rollout = await rollouts.get(result!.rolloutId!);
      expect(rollout).toMatchObject({ strategy: 'progressive', filter: { location: 'west' }, name: 'west-pos: acme/pos-app:v2.0.0' });
      expect(rollout.phases.map((p) => p.percent)).toEqual([50, 100]);
      expect(Object.values(rollout.counts).reduce((a, b) => a + (b ?? 0), 0)).toBe(6);
      const artifact = await store.artifacts.get(rollout.artifactId);
      expect(artifact).toMatchObject({ kind: 'image', name: 'acme.pos-app', version: 'v2.0.0', imageRef: `ghcr.io/acme/pos-app:v2.0.0@sha256:${'b'.repeat(64)}` });
      const [triggered] = await store.events.list({ type: ['policy.triggered'], limit: 1 });
      expect(triggered).toMatchObject({ rolloutId: rollout.id, data: { policyId: policy.id } });
    });

    it('keeps a re-pushed tag with new content apart by its digest, and reports a bad template at trigger time', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const [again] = await service.trigger(push('v2.0.0', `sha256:${'c'.repeat(64)}`), 'webhook');
      const artifact = await store.artifacts.get((await rollouts.get(again!.rolloutId!)).artifactId);
      expect(artifact?.version).toBe(`v2.0.0-${'c'.repeat(12)}`);
      await expect(service.create({ name: 'bad', image: 'x/*', template: { phases: [{ percent: 50 }] } }, 'test')).rejects.toThrow(/template/);
    });
  });
}
