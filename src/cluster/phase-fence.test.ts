// With several servers the engine's periodic jobs run under a lock that expires; a holder that
// stalls past it may act on a stale read while another server has taken over. Phase steps are
// fenced in the store: a step that was already taken, or that would move a rollout back, changes
// nothing (and so appends no second rollout.phase-advanced event).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ManualClock } from '../core/index.js';
import { createEngine } from '../engine/create-engine.js';
import { ScriptedTransport, seedArtifact, seedDevices } from '../testing/engine.js';
import { EventLog, type Store } from '../store/index.js';
import { storeTargets } from '../testing/stores.js';
import { openChannel } from './open-channel.js';

for (const target of storeTargets) {
  describe(`phase steps on ${target.name}`, () => {
    let store: Store;
    beforeEach(async (ctx) => {
      if (await target.skip()) ctx.skip();
      store = await target.open();
    });
    afterEach(() => store?.close());

    it('a repeated or stale phase step changes nothing', async () => {
      const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
      const events = new EventLog(store.events, clock);
      const { rollouts } = createEngine({ store, channel: openChannel(store), events, clock, transports: new Map([['http', new ScriptedTransport('http')]]), concurrency: 1 });
      await seedDevices(store, 10);
      const artifact = await seedArtifact(store);
      const rollout = await rollouts.create({ artifactId: artifact.id, strategy: 'progressive', phases: [{ percent: 10 }, { percent: 50 }, { percent: 100 }] }, 'token:test');
      const step = (to: number) => rollouts.change(rollout.id, ['running'], null, { currentPhase: to, phaseReachedAt: null }, 'rollout.phase-advanced', 'engine', { to: to + 1 });

      await step(2);
      await expect(step(2)).rejects.toBeInstanceOf(ConflictError);
      await expect(step(1)).rejects.toBeInstanceOf(ConflictError);
      expect((await rollouts.get(rollout.id)).currentPhase).toBe(2);
      expect(await store.events.list({ rolloutId: rollout.id, type: ['rollout.phase-advanced'], limit: 10 })).toHaveLength(1);
    });
  });
}
