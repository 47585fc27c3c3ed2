// Each strategy end to end on SQLite and PostgreSQL with a fixed clock: scheduled starts, windows
// in each device's own zone, on-connect, continuous (dynamic group), rate limits, rollback, and a
// pull device's report after a cancel.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ManualClock } from '../core/index.js';
import { EventLog, type Store } from '../store/index.js';
import { storeTargets } from '../testing/stores.js';
import { createEngine, type EngineParts } from './create-engine.js';
import { rollback } from './rollout-rollback.js';
import { nextEvent, ScriptedTransport, seedArtifact, seedDevices, seededRandom } from '../testing/engine.js';
import { openChannel } from '../cluster/open-channel.js';

for (const target of storeTargets) {
  describe(`strategies on ${target.name}`, () => {
    let store: Store;
    let events: EventLog;
    let clock: ManualClock;
    let transport: ScriptedTransport;
    let parts: EngineParts;

    beforeEach(async (ctx) => {
      if (await target.skip()) ctx.skip();
      store = await target.open();
      clock = new ManualClock(Date.parse('2026-01-15T07:30:00Z'));
      events = new EventLog(store.events, clock);
      transport = new ScriptedTransport('http');
      parts = createEngine({ store, channel: openChannel(store), events, clock, random: seededRandom(), transports: new Map([['http', transport]]), concurrency: 16, tickMs: 10, jobsMs: 0 });
      parts.engine.start();
    });
    afterEach(async () => {
      await parts?.engine.stop();
      await store?.close();
    });

    const completed = (id: string) => nextEvent(events, (e) => e.rolloutId === id && e.type === 'rollout.completed');
    /** Waits until the engine has nothing left to do at this clock time (jobs ran, outcomes recorded). */
    const settle = async () => {
      for (let i = 0; i < 3; i++) await parts.engine.idle();
    };
    const delivered = () => transport.deliveries.map((d) => d.device.id).sort();

    it('scheduled: fixes the device set when startAt comes, not before', async () => {
      await seedDevices(store, 2, { tags: { ring: 'a' } }, 'early');
      const artifact = await seedArtifact(store);
      const startAt = new Date(clock.now() + 3_600_000).toISOString();
      const rollout = await parts.rollouts.create({ artifactId: artifact.id, strategy: 'scheduled', startAt, filter: { tag: 'ring:a' } }, 'token:op');
      expect(rollout).toMatchObject({ status: 'scheduled', counts: {} });
      await seedDevices(store, 1, { tags: { ring: 'a' } }, 'late');
      await settle();
      expect(transport.deliveries).toHaveLength(0);
      const done = completed(rollout.id);
      clock.advance(3_600_000);
      parts.engine.wake();
      await done;
      expect(delivered()).toEqual(['early-000000', 'early-000001', 'late-000000']);
      // Registry changes after the start do not move a non-continuous rollout.
      await seedDevices(store, 1, { tags: { ring: 'a' } }, 'after');
      clock.advance(10_000);
      await settle();
      expect((await parts.rollouts.get(rollout.id)).counts).toEqual({ succeeded: 3 });
    });

    it('windows open in each device\'s own time zone', async () => {
      await seedDevices(store, 2, { timezone: 'America/New_York' }, 'ny');
      await seedDevices(store, 2, { timezone: 'America/Los_Angeles' }, 'la');
      const artifact = await seedArtifact(store);
      // 07:30Z is 02:30 in New York (inside 02:00-04:00) and 23:30 in Los Angeles (outside).
      const nyDone = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'ny-000001');
      const rollout = await parts.rollouts.create({ artifactId: artifact.id, strategy: 'scheduled', window: { daily: '02:00-04:00' } }, 'token:op');
      await nyDone;
      await settle();
      expect(delivered()).toEqual(['ny-000000', 'ny-000001']);
      expect((await parts.rollouts.get(rollout.id)).counts).toEqual({ succeeded: 2, pending: 2 });
      const done = completed(rollout.id);
      clock.set(Date.parse('2026-01-15T10:30:00Z'));
      parts.engine.wake();
      await done;
      expect(delivered()).toEqual(['la-000000', 'la-000001', 'ny-000000', 'ny-000001']);
    });

    it('on-connect: online devices at once, offline ones when they are next seen', async () => {
      await seedDevices(store, 1, { status: 'online' }, 'on');
      await seedDevices(store, 1, { status: 'offline' }, 'off');
      await seedDevices(store, 1, { status: 'offline', mode: 'pull', address: null }, 'pull');
      const artifact = await seedArtifact(store);
      const first = nextEvent(events, (e) => e.type === 'execution.succeeded');
      const rollout = await parts.rollouts.create({ artifactId: artifact.id, strategy: 'on-connect' }, 'token:op');
      expect((await first).deviceId).toBe('on-000000');
      await settle();
      expect(await parts.deviceSync.currentTarget('pull-000000')).toBeNull();
      // The device API records the heartbeat, then tells the engine.
      await store.devices.touch('pull-000000', clock.now());
      await parts.deviceSync.deviceSeen(['pull-000000']);
      expect((await parts.deviceSync.currentTarget('pull-000000'))?.rollout.id).toBe(rollout.id);
      const offDone = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'off-000000');
      await store.devices.touch('off-000000', clock.now());
      await parts.deviceSync.deviceSeen(['off-000000']);
      await offDone;
      expect(delivered()).toEqual(['off-000000', 'on-000000']);
    });

    it('continuous: devices that match later join until the rollout is closed', async () => {
      await seedDevices(store, 2, { tags: { ring: 'b' } }, 'first');
      const artifact = await seedArtifact(store);
      const two = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'first-000001');
      const rollout = await parts.rollouts.create({ artifactId: artifact.id, continuous: true, filter: { tag: 'ring:b' } }, 'token:op');
      await two;
      await settle();
      expect((await parts.rollouts.get(rollout.id)).status).toBe('running');
      await seedDevices(store, 1, { tags: { ring: 'b' } }, 'joiner');
      const joined = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'joiner-000000');
      clock.advance(6_000);
      parts.engine.wake();
      await joined;
      const done = completed(rollout.id);
      await parts.rollouts.close(rollout.id, 'token:op');
      await done;
      expect((await parts.rollouts.get(rollout.id)).counts).toEqual({ succeeded: 3 });
    });

    it('continuous rollout of a release: each device that joins gets the artifact that fits it, or is skipped', async () => {
      await seedDevices(store, 1, { tags: { ring: 'r' }, deviceType: 'board-a' }, 'rel-first');
      const a = await seedArtifact(store, '2.0.0', 'fw-a');
      const b = await seedArtifact(store, '2.0.0', 'fw-b');
      const at = new Date(clock.now()).toISOString();
      await store.releases.create({
        id: 'rel-cont',
        name: 'fw',
        version: '2.0.0',
        createdBy: 'token:op',
        createdAt: at,
        artifacts: [
          { artifactId: a.id, component: 'main', match: { protocol: ['http'], deviceType: 'board-a' }, position: 0 },
          { artifactId: b.id, component: 'main', match: { protocol: ['http'], deviceType: 'board-b*' }, position: 1 },
        ],
      });
      const first = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'rel-first-000000');
      const rollout = await parts.rollouts.create({ releaseId: 'rel-cont', continuous: true, filter: { tag: 'ring:r' } }, 'token:op');
      await first;
      await seedDevices(store, 1, { tags: { ring: 'r' }, deviceType: 'board-b2' }, 'rel-joiner');
      await seedDevices(store, 1, { tags: { ring: 'r' }, deviceType: 'board-z' }, 'rel-odd');
      const joined = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'rel-joiner-000000');
      clock.advance(6_000);
      parts.engine.wake();
      await joined;
      const done = completed(rollout.id);
      await parts.rollouts.close(rollout.id, 'token:op');
      await done;
      const got = new Map(transport.deliveries.map((d) => [d.device.id, d.artifact.id]));
      expect(got).toEqual(new Map([['rel-first-000000', a.id], ['rel-joiner-000000', b.id]]));
      expect((await parts.rollouts.get(rollout.id)).counts).toEqual({ succeeded: 2, skipped: 1 });
      expect(await store.executions.inRollout(rollout.id, 'rel-odd-000000')).toMatchObject({ state: 'skipped', note: 'no artifact of release fw 2.0.0 for device type board-z over HTTP push' });
    });

    it('continuous to a dynamic group: the group is resolved at each join, so devices that join the group join the rollout', async () => {
      await seedDevices(store, 1, { tags: { ring: 'c' } }, 'grp-first');
      await seedDevices(store, 1, { tags: { ring: 'other' } }, 'grp-outside');
      await store.groups.create({ id: 'grp_000000000000000000000001', tenant: 'DEFAULT', name: 'canary', kind: 'dynamic', filter: { tag: 'ring=c' } }, clock.now());
      const artifact = await seedArtifact(store);
      const first = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'grp-first-000000');
      const rollout = await parts.rollouts.create({ artifactId: artifact.id, continuous: true, filter: { group: 'canary' } }, 'token:op');
      await first;
      await settle();
      // The group's filter changes after the rollout began: whoever matches it now joins.
      await store.groups.update('grp_000000000000000000000001', { filter: { tag: ['ring=c'], status: 'online,offline,unknown' } }, clock.now());
      await seedDevices(store, 1, { tags: { ring: 'c' } }, 'grp-joiner');
      const joined = nextEvent(events, (e) => e.type === 'execution.succeeded' && e.deviceId === 'grp-joiner-000000');
      clock.advance(6_000);
      parts.engine.wake();
      await joined;
      const done = completed(rollout.id);
      await parts.rollouts.close(rollout.id, 'token:op');
      await done;
      expect((await parts.rollouts.get(rollout.id)).counts).toEqual({ succeeded: 2 });
      expect(delivered()).toEqual(['grp-first-000000', 'grp-joiner-000000']);
    });

    it('rate-limited: at most N starts per minute', async () => {
      await seedDevices(store, 5);
      const artifact = await seedArtifact(store);
      const rollout = await parts.rollouts.create({ artifactId: artifact.id, rateLimit: { perMinute: 2 } }, 'token:op');
      await settle();
      expect(transport.deliveries).toHaveLength(2);
      clock.advance(61_000);
      await settle();
      expect(transport.deliveries).toHaveLength(4);
      const done = completed(rollout.id);
      clock.advance(61_000);
      parts.engine.wake();
      await done;
      expect(transport.deliveries).toHaveLength(5);
    });

    it('rollback: each changed device gets its previous artifact in a new rollout', async () => {
      const ids = await seedDevices(store, 3);
      const v1 = await seedArtifact(store, '1.0.0');
      const v2 = await seedArtifact(store, '2.0.0');
      const first = await parts.rollouts.create({ artifactId: v1.id }, 'token:op');
      await completed(first.id);
      const second = await parts.rollouts.create({ artifactId: v2.id }, 'token:op');
      await completed(second.id);
      const executions = await store.executions.list(second.id, { limit: 10 });
      expect(executions.map((e) => [e.previousArtifactId, e.previousVersion])).toEqual(ids.map(() => [v1.id, '1.0.0']));
      const rollbackDone = nextEvent(events, (e) => e.type === 'rollout.completed' && e.rolloutId !== second.id);
      const result = await rollback(store, parts.rollouts, second.id, 'token:op');
      expect(result.rollout.status).toBe('rolled-back');
      expect(result.rollbacks).toHaveLength(1);
      expect(result.rollbacks[0]).toMatchObject({ artifactId: v1.id, rollbackOf: second.id });
      await rollbackDone;
      expect(transport.deliveries.slice(-3).map((d) => d.artifact.version)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
      expect((await store.devices.get(ids[0]!))!.version).toBe('1.0.0');
      const types = (await store.events.list({ rolloutId: second.id, type: ['rollout.*'], limit: 10, afterId: 0 })).map((e) => e.type);
      expect(types).toContain('rollout.rolled-back');
    });

    it('answers a pull device reporting on a cancelled execution with a conflict', async () => {
      const [id] = await seedDevices(store, 1, { mode: 'pull', address: null });
      const artifact = await seedArtifact(store);
      const released = new Promise<void>((resolve) => parts.deviceSync.onTargetChanged(() => resolve()));
      const rollout = await parts.rollouts.create({ artifactId: artifact.id }, 'token:op');
      await released;
      const target = (await parts.deviceSync.currentTarget(id!))!;
      await parts.deviceSync.applyReport(id!, { id: target.execution.id, state: 'downloading' }, `device:${id}`);
      const notified = new Promise<string[]>((resolve) => parts.deviceSync.onTargetChanged(resolve));
      await parts.rollouts.cancel(rollout.id, 'token:op');
      expect(await notified).toEqual([id]);
      expect(await parts.deviceSync.currentTarget(id!)).toBeNull();
      await expect(parts.deviceSync.applyReport(id!, { id: target.execution.id, state: 'installing' }, `device:${id}`)).rejects.toBeInstanceOf(ConflictError);
    });
  });
}
