// Decommissioning a push device while the engine delivers to it, on SQLite and PostgreSQL: the
// delivery in flight is aborted and its execution ends cancelled with the reason, other devices'
// deliveries go on, and the device is out of every filter from then on.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, parseDeviceFilter } from '../core/index.js';
import { createEngine, type EngineParts } from '../engine/create-engine.js';
import { hangUntilAborted, nextEvent, ScriptedTransport, seedArtifact, seedDevices, seededRandom } from '../testing/engine.js';
import { EventLog, type Store } from '../store/index.js';
import { storeTargets } from '../testing/stores.js';
import { DecommissionService } from './decommission.service.js';
import { openChannel } from '../cluster/open-channel.js';
import { TokenRevocations } from '../cluster/token-revocations.js';

for (const target of storeTargets) {
  describe(`decommissioning under the engine on ${target.name}`, () => {
    let store: Store;
    let events: EventLog;
    let parts: EngineParts | null = null;

    beforeEach(async (ctx) => {
      const skip = await target.skip();
      if (skip) ctx.skip();
      store = await target.open();
      events = new EventLog(store.events, new ManualClock(Date.parse('2026-01-15T12:00:00Z')));
    });
    afterEach(async () => {
      await parts?.engine.stop();
      parts = null;
      await store?.close();
    });

    it("aborts the device's push in flight and leaves other devices alone", async () => {
      const clock = new ManualClock(Date.parse('2026-01-15T12:00:00Z'));
      const [gone, kept] = await seedDevices(store, 2);
      const artifact = await seedArtifact(store);
      const transport = new ScriptedTransport('http', hangUntilAborted);
      const channel = openChannel(store);
      parts = createEngine({ store, channel, events, clock, random: seededRandom(), transports: new Map([['http', transport]]), concurrency: 4, tickMs: 10, jobsMs: 0, batchSize: 50 });
      parts.engine.start();
      const engine = parts.engine;
      const live = await parts.rollouts.create({ artifactId: artifact.id, filter: { ids: [gone!, kept!] } }, 'token:test');
      await transport.started(2);
      const decommission = new DecommissionService({ store, transitions: parts.transitions, targetChanges: parts.targetChanges, tokenRevocations: new TokenRevocations(channel), clock, registryChanged: () => {}, executionsEnded: (id) => (engine.abortDeliveriesTo(id), engine.wake()) });

      const device = await decommission.decommission(gone!, 'token:ops');
      expect(device.decommissionedAt).toBe(new Date(clock.now()).toISOString());
      const byDevice = new Map(transport.deliveries.map((d) => [d.device.id, d]));
      const signal = byDevice.get(gone!)!.signal!;
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      expect(signal.aborted).toBe(true);
      expect(byDevice.get(kept!)!.signal?.aborted).toBe(false);
      expect(await store.executions.inRollout(live.id, gone!)).toMatchObject({ state: 'cancelled', error: 'device decommissioned by token:ops' });
      expect(await store.executions.inRollout(live.id, kept!)).toMatchObject({ state: 'delivering' });
      expect(await store.devices.count(parseDeviceFilter({ ids: [gone!, kept!] }))).toBe(1);
      const [event] = await store.events.list({ type: ['device.decommissioned'], limit: 5 });
      expect(event).toMatchObject({ deviceId: gone, actor: 'token:ops', data: { executionsEnded: 1 } });
      // Again: nothing more to end, no second event.
      await decommission.decommission(gone!, 'token:ops');
      expect(await store.events.list({ type: ['device.decommissioned'], limit: 5 })).toHaveLength(1);
      const cancelled = nextEvent(events, (e) => e.deviceId === kept && e.type === 'execution.cancelled');
      await parts.rollouts.cancel(live.id, 'token:test');
      await cancelled;
    });
  });
}
