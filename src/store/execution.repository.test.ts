// Contract tests of execution persistence, on SQLite and PostgreSQL: claims (a lease for push
// work, a release for pull work, only while the rollout runs, due and within the phase, disjoint
// between racing claimers), guarded transitions and what they do to the lease, reaping expired
// leases, moving a rollout's executions at once; and migration 0010's writes and reads: an
// operator's retry (new ids, fresh attempts, only failures), the installed-after-cancel note,
// bytes progress that does not move the state's time, in-flight lookups, the summary rows, a
// device's history, and what a rollback takes as each device's previous artifact.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceInput, ExecutionState, Rollout } from '../core/index.js';
import { seedArtifact, seedDevices } from '../testing/engine.js';
import { storeTargets } from '../testing/stores.js';
import type { ClaimOptions, Store } from './index.js';

const T0 = Date.parse('2026-01-15T12:00:00Z');
/** How seed() walks an execution to a state through the state machine. */
const PATHS: Partial<Record<ExecutionState, ExecutionState[]>> = { queued: ['queued'], downloading: ['queued', 'downloading'], installing: ['queued', 'downloading', 'installing'] };

function rollout(artifactId: string, over: Partial<Rollout> = {}): Rollout {
  const iso = new Date(T0).toISOString();
  return {
    id: randomUUID(), name: 'r', artifactId, releaseId: null, filter: {}, strategy: 'immediate', phases: [{ percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: false }],
    errorThreshold: null, window: null, startAt: null, maxConcurrency: null, retry: { maxAttempts: 3, backoffSeconds: 5, maxBackoffSeconds: 300 }, rateLimit: null, continuous: false, downloadAhead: false, maxBandwidth: null, maxDeviceBandwidth: null,
    status: 'running', statusReason: null, currentPhase: 0, approvedPhase: -1, acceptedPhase: -1, pauseCause: null, revert: false, phaseReachedAt: null, failureBaseline: 0,
    rollbackOf: null, closed: false, createdBy: 'test', createdAt: iso, updatedAt: iso, startedAt: iso, finishedAt: null, counts: {}, ...over,
  };
}

for (const target of storeTargets) {
  describe(`execution repository on ${target.name}`, () => {
    let store: Store;
    beforeEach(async (ctx) => {
      if (await target.skip()) ctx.skip();
      store = await target.open();
    });
    afterEach(async () => store?.close());

    /** A rollout with one execution per device, each moved to the given state (pull devices). */
    async function seed(states: ExecutionState[], over: Partial<Rollout> = {}, artifactId?: string) {
      const ids = await seedDevices(store, states.length, { mode: 'pull', address: null }, `d${randomUUID().slice(0, 4)}`);
      const artifact = artifactId ?? (await seedArtifact(store, `2.${Math.floor(Math.random() * 1000)}.0`)).id;
      const r = rollout(artifact, over);
      await store.rollouts.create(r);
      await store.executions.insertMany(ids.map((deviceId) => ({ id: randomUUID(), rolloutId: r.id, deviceId, artifactId: artifact, phase: 0, pull: true, timezone: 'UTC', previousArtifactId: null, previousVersion: '1.0.0' })), T0);
      const executions = await store.executions.list(r.id, { limit: 100 });
      for (const [i, e] of executions.entries()) {
        const to = states[i]!;
        if (to === 'pending') continue;
        const path: ExecutionState[] = PATHS[to] ?? ['queued', to];
        let from: ExecutionState = 'pending';
        for (const step of path) {
          await store.executions.transition([{ id: e.id, from, to: step, error: step === 'failed' ? 'boom' : undefined }], T0 + 1000);
          from = step;
        }
      }
      return { rollout: r, artifactId: artifact, executions: await store.executions.list(r.id, { limit: 100 }) };
    }

    /** A rollout over `n` fresh devices (push unless `pull`), its executions pending and due at T0. */
    async function pending(n: number, o: { pull?: boolean; devices?: Partial<DeviceInput>; phases?: number[]; timezones?: string[]; rollout?: Partial<Rollout> } = {}) {
      const pull = o.pull ?? false;
      const ids = await seedDevices(store, n, { ...(pull ? { mode: 'pull', address: null } : {}), ...o.devices }, `c${randomUUID().slice(0, 4)}`);
      const artifact = (await seedArtifact(store, `3.${Math.floor(Math.random() * 1000)}.0`)).id;
      const r = rollout(artifact, o.rollout);
      await store.rollouts.create(r);
      await store.executions.insertMany(ids.map((deviceId, i) => ({ id: randomUUID(), rolloutId: r.id, deviceId, artifactId: artifact, phase: o.phases?.[i] ?? 0, pull, timezone: o.timezones?.[i] ?? 'UTC', previousArtifactId: null, previousVersion: null })), T0);
      return { rollout: r, deviceIds: ids };
    }
    const claimOf = (rolloutId: string, over: Partial<ClaimOptions> = {}): ClaimOptions => ({ rolloutId, maxPhase: 0, limit: 100, now: T0, pull: false, lease: { owner: 'engine-a', expiresAt: T0 + 30_000 }, ...over });

    it('claims due push work with a lease and one more attempt, within the phase, the zones and the limit', async () => {
      const { rollout: r } = await pending(5, { phases: [0, 0, 0, 0, 1], timezones: ['UTC', 'UTC', 'Asia/Tokyo', 'UTC', 'UTC'] });
      const claimed = await store.executions.claim(claimOf(r.id, { limit: 1 }));
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({ state: 'delivering', attempts: 1, leaseOwner: 'engine-a', leaseExpiresAt: new Date(T0 + 30_000).toISOString(), startedAt: new Date(T0).toISOString() });
      expect(await store.executions.claim(claimOf(r.id, { timezones: ['Asia/Tokyo'] }))).toHaveLength(1);
      expect(await store.executions.claim(claimOf(r.id, { timezones: [] }))).toEqual([]);
      expect(await store.executions.claim(claimOf(r.id, { limit: 0 }))).toEqual([]);
      expect(await store.executions.claim(claimOf(r.id, { pull: true, lease: undefined }))).toEqual([]);
      const rest = await store.executions.claim(claimOf(r.id));
      expect(rest).toHaveLength(2);
      expect(rest.every((e) => e.phase === 0)).toBe(true);
      expect((await store.executions.claim(claimOf(r.id, { maxPhase: 1 }))).map((e) => e.phase)).toEqual([1]);
      expect(await store.executions.claim(claimOf(r.id, { maxPhase: 1 }))).toEqual([]);
    });

    it('releases pull work to queued without a lease or an attempt, only for the devices asked and online ones', async () => {
      const { rollout: r, deviceIds } = await pending(3, { pull: true, devices: { status: 'offline' } });
      await store.devices.touch(deviceIds[0]!, T0);
      const online = await store.executions.claim(claimOf(r.id, { pull: true, lease: undefined, onlineOnly: true }));
      expect(online.map((e) => e.deviceId)).toEqual([deviceIds[0]]);
      expect(online[0]).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null });
      expect(await store.executions.claim(claimOf(r.id, { pull: true, lease: undefined, deviceIds: [] }))).toEqual([]);
      expect((await store.executions.claim(claimOf(r.id, { pull: true, lease: undefined, deviceIds: [deviceIds[2]!] }))).map((e) => e.deviceId)).toEqual([deviceIds[2]]);
    });

    it('claims nothing of a rollout that is not running, or before a retry is due', async () => {
      const { rollout: r } = await pending(2);
      await store.rollouts.update(r.id, ['running'], { status: 'paused' }, T0);
      expect(await store.executions.claim(claimOf(r.id))).toEqual([]);
      await store.rollouts.update(r.id, ['paused'], { status: 'running' }, T0);
      const [first] = await store.executions.claim(claimOf(r.id, { limit: 1 }));
      expect(await store.executions.transition([{ id: first!.id, from: 'delivering', to: 'pending', nextAttemptAt: T0 + 10_000, leaseOwner: 'engine-a' }], T0 + 1)).toEqual(new Set([first!.id]));
      const second = await store.executions.claim(claimOf(r.id, { now: T0 + 5_000 }));
      expect(second.map((e) => e.id)).not.toContain(first!.id);
      expect((await store.executions.claim(claimOf(r.id, { now: T0 + 10_000 }))).map((e) => [e.id, e.attempts])).toEqual([[first!.id, 2]]);
    });

    it('gives racing claimers disjoint work', async () => {
      const { rollout: r } = await pending(40);
      const batches = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => store.executions.claim(claimOf(r.id, { limit: 15, lease: { owner, expiresAt: T0 + 30_000 } }))));
      const ids = batches.flat().map((e) => e.id);
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
      for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(15);
    });

    it('changes a state only from the one it is in and, with a lease owner, only for its holder', async () => {
      const { rollout: r } = await pending(2);
      const [a, b] = await store.executions.claim(claimOf(r.id));
      expect(await store.executions.transition([{ id: a!.id, from: 'delivering', to: 'installing', leaseOwner: 'engine-b' }], T0 + 1)).toEqual(new Set());
      expect(await store.executions.transition([{ id: a!.id, from: 'pending', to: 'succeeded' }], T0 + 1)).toEqual(new Set());
      await expect(store.executions.transition([{ id: a!.id, from: 'succeeded', to: 'pending' }], T0 + 1)).rejects.toThrow(/succeeded/);
      const moved = await store.executions.transition([
        { id: a!.id, from: 'delivering', to: 'installing', leaseOwner: 'engine-a', bytes: 512 },
        { id: b!.id, from: 'delivering', to: 'failed', leaseOwner: 'engine-a', error: 'refused' },
      ], T0 + 2);
      expect(moved).toEqual(new Set([a!.id, b!.id]));
      expect(await store.executions.get(a!.id)).toMatchObject({ state: 'installing', bytes: 512, leaseOwner: 'engine-a', finishedAt: null, stateSince: new Date(T0 + 2).toISOString() });
      expect(await store.executions.get(b!.id)).toMatchObject({ state: 'failed', error: 'refused', leaseOwner: null, leaseExpiresAt: null, finishedAt: new Date(T0 + 2).toISOString() });
    });

    it('renews only the leases an engine holds and reaps the expired ones back to pending', async () => {
      const { rollout: r } = await pending(3);
      const [a] = await store.executions.claim(claimOf(r.id, { limit: 1, lease: { owner: 'engine-a', expiresAt: T0 + 1_000 } }));
      const [b] = await store.executions.claim(claimOf(r.id, { limit: 1, lease: { owner: 'engine-b', expiresAt: T0 + 1_000 } }));
      await store.executions.renewLeases([a!.id, b!.id], 'engine-a', T0 + 60_000);
      expect((await store.executions.get(a!.id))?.leaseExpiresAt).toBe(new Date(T0 + 60_000).toISOString());
      const reaped = await store.executions.reapExpired(T0 + 2_000, 10);
      expect(reaped.map((x) => x.id)).toEqual([b!.id]);
      expect(await store.executions.get(b!.id)).toMatchObject({ state: 'pending', leaseOwner: null, error: 'lease expired: the engine delivering it stopped', nextAttemptAt: new Date(T0 + 2_000).toISOString(), attempts: 1 });
      expect(await store.executions.reapExpired(T0 + 2_000, 10)).toEqual([]);
    });

    it("moves a rollout's executions in one state at once, pull only or past their lease when asked", async () => {
      const push = await pending(2);
      const [leased] = await store.executions.claim(claimOf(push.rollout.id, { limit: 1, lease: { owner: 'engine-a', expiresAt: T0 + 1_000 } }));
      expect(await store.executions.moveAll(push.rollout.id, 'delivering', 'cancelled', T0 + 500, { leaseExpiredBefore: T0 + 500 })).toEqual([]);
      const cancelled = await store.executions.moveAll(push.rollout.id, 'delivering', 'cancelled', T0 + 2_000, { leaseExpiredBefore: T0 + 2_000 });
      expect(cancelled.map((x) => x.id)).toEqual([leased!.id]);
      expect(await store.executions.get(leased!.id)).toMatchObject({ state: 'cancelled', leaseOwner: null, finishedAt: new Date(T0 + 2_000).toISOString() });
      expect(await store.executions.moveAll(push.rollout.id, 'pending', 'cancelled', T0 + 3_000, { pullOnly: true })).toEqual([]);
      expect((await store.executions.moveAll(push.rollout.id, 'pending', 'skipped', T0 + 3_000)).map((x) => x.deviceId)).toEqual(push.deviceIds.filter((id) => id !== leased!.deviceId));
      expect(await store.rollouts.countsByState(push.rollout.id)).toEqual({ cancelled: 1, skipped: 1 });
    });

    it('retries only failed and rolled-back executions, with new ids and fresh attempts, one device or all', async () => {
      const { rollout: r, executions } = await seed(['failed', 'rolled-back', 'succeeded', 'cancelled']);
      const failed = executions.find((e) => e.state === 'failed')!;
      const one = await store.executions.requeue(r.id, failed.deviceId, T0 + 5000);
      expect(one).toHaveLength(1);
      expect(one[0]).toMatchObject({ previousId: failed.id, deviceId: failed.deviceId, from: 'failed', phase: 0 });
      expect(one[0]!.id).not.toBe(failed.id);
      expect(await store.executions.get(failed.id)).toBeNull();
      expect(await store.executions.get(one[0]!.id)).toMatchObject({ state: 'pending', attempts: 0, error: null, bytes: 0, finishedAt: null, nextAttemptAt: new Date(T0 + 5000).toISOString(), stateSince: new Date(T0 + 5000).toISOString() });
      const rest = await store.executions.requeue(r.id, null, T0 + 6000);
      expect(rest.map((x) => x.from)).toEqual(['rolled-back']);
      expect(await store.executions.requeue(r.id, null, T0 + 7000)).toEqual([]);
      expect(await store.rollouts.countsByState(r.id)).toEqual({ pending: 2, succeeded: 1, cancelled: 1 });
    });

    it('notes a cancel the device installed anyway once, keeping it cancelled, and counts it in the summary', async () => {
      const { rollout: r, executions } = await seed(['cancelled', 'succeeded']);
      const cancelled = executions.find((e) => e.state === 'cancelled')!;
      expect(await store.executions.noteInstalledAfterCancel(cancelled.id, 'installed before the cancel reached it')).toBe(true);
      expect(await store.executions.noteInstalledAfterCancel(cancelled.id, 'again')).toBe(false);
      const succeeded = executions.find((e) => e.state === 'succeeded')!;
      expect(await store.executions.noteInstalledAfterCancel(succeeded.id, 'no')).toBe(false);
      expect(await store.executions.get(cancelled.id)).toMatchObject({ state: 'cancelled', installedAfterCancel: true, note: 'installed before the cancel reached it', stateSince: cancelled.stateSince });
      const rows = await store.executionViews.summaryRows(r.id, 0);
      expect(rows.find((x) => x.state === 'cancelled')).toMatchObject({ n: 1, installedAfterCancel: 1 });
    });

    it('records bytes of a download in progress without moving the time of its state, and finds it in flight', async () => {
      const { executions, artifactId } = await seed(['downloading', 'queued']);
      const downloading = executions.find((e) => e.state === 'downloading')!;
      await store.executions.recordBytes(downloading.id, 'downloading', 1_500_000);
      await store.executions.recordBytes(downloading.id, 'downloading', 1_000);
      await store.executions.recordBytes(downloading.id, 'installing', 2_000_000);
      expect(await store.executions.get(downloading.id)).toMatchObject({ bytes: 1_500_000, stateSince: downloading.stateSince });
      expect((await store.executions.inFlightFor(downloading.deviceId, artifactId))?.id).toBe(downloading.id);
      const queued = executions.find((e) => e.state === 'queued')!;
      expect(await store.executions.inFlightFor(queued.deviceId, artifactId)).toBeNull();
      expect(await store.executions.inFlightFor(downloading.deviceId, 'another-artifact')).toBeNull();
    });

    it("pages a device's history newest first with each rollout's artifact and name", async () => {
      const [deviceId] = await seedDevices(store, 1, { mode: 'pull', address: null }, 'hist');
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const artifact = await seedArtifact(store, `3.${i}.0`);
        const r = rollout(artifact.id, { name: `rollout ${i}` });
        await store.rollouts.create(r);
        const id = randomUUID();
        await store.executions.insertMany([{ id, rolloutId: r.id, deviceId: deviceId!, artifactId: artifact.id, phase: 0, pull: true, timezone: 'UTC', previousArtifactId: null, previousVersion: null }], T0 + i * 1000);
        made.push(id);
      }
      const first = await store.executionViews.history(deviceId!, { limit: 2 });
      expect(first.map((e) => [e.id, e.rolloutName, e.artifact?.version])).toEqual([[made[2], 'rollout 2', '3.2.0'], [made[1], 'rollout 1', '3.1.0']]);
      const last = first.at(-1)!;
      const second = await store.executionViews.history(deviceId!, { limit: 2, before: { createdAt: Date.parse(last.createdAt), id: last.id } });
      expect(second.map((e) => e.id)).toEqual([made[0]]);
      expect(await store.executionViews.countForDevice(deviceId!)).toBe(3);
    });

    it('takes as previous artifact the last one a device installed, none after a revert, and a cancel installed anyway', async () => {
      const v1 = (await seedArtifact(store, '1.0.0')).id;
      const first = await seed(['succeeded'], {}, v1);
      const deviceId = first.executions[0]!.deviceId;
      expect(await store.executions.lastSucceeded([deviceId])).toEqual(new Map([[deviceId, v1]]));
      // A revert rollout left the device on a release this server never had.
      const revert = rollout(v1, { revert: true });
      await store.rollouts.create(revert);
      const rid = randomUUID();
      await store.executions.insertMany([{ id: rid, rolloutId: revert.id, deviceId, artifactId: v1, phase: 0, pull: true, timezone: 'UTC', previousArtifactId: null, previousVersion: null }], T0 + 10_000);
      await store.executions.transition([{ id: rid, from: 'pending', to: 'succeeded' }], T0 + 11_000);
      expect(await store.executions.lastSucceeded([deviceId])).toEqual(new Map());
      // Then a rollout was cancelled, but the device installed it anyway.
      const v3 = (await seedArtifact(store, '3.0.0')).id;
      const third = rollout(v3);
      await store.rollouts.create(third);
      const cid = randomUUID();
      await store.executions.insertMany([{ id: cid, rolloutId: third.id, deviceId, artifactId: v3, phase: 0, pull: true, timezone: 'UTC', previousArtifactId: null, previousVersion: null }], T0 + 20_000);
      await store.executions.transition([{ id: cid, from: 'pending', to: 'cancelled' }], T0 + 21_000);
      expect(await store.executions.lastSucceeded([deviceId])).toEqual(new Map());
      await store.executions.noteInstalledAfterCancel(cid, 'installed anyway');
      expect(await store.executions.lastSucceeded([deviceId])).toEqual(new Map([[deviceId, v3]]));
      // The one-statement start records the same.
      const fourth = rollout((await seedArtifact(store, '4.0.0')).id);
      await store.rollouts.create(fourth);
      await store.executions.insertForFilter({ rolloutId: fourth.id, artifactId: fourth.artifactId }, { ids: [deviceId], enrolledOnly: true }, T0 + 30_000);
      expect((await store.executions.inRollout(fourth.id, deviceId))?.previousArtifactId).toBe(v3);
    });

    it('writes a start from the filter in slices: every matching device once, whatever the slice size', async () => {
      const prefix = `s${randomUUID().slice(0, 4)}`;
      const ids = await seedDevices(store, 7, { mode: 'pull', address: null }, prefix);
      await seedDevices(store, 2, { mode: 'pull', address: null, location: 'elsewhere' }, `${prefix}x`);
      const artifactId = (await seedArtifact(store, '5.0.0')).id;
      for (const batch of [1, 3, 7, 50]) {
        const r = rollout(artifactId);
        await store.rollouts.create(r);
        const filter = { ids: [...ids, 'no-such-device'], enrolledOnly: true };
        expect(await store.executions.insertForFilter({ rolloutId: r.id, artifactId }, filter, T0, batch)).toBe(7);
        const written = await store.executions.list(r.id, { limit: 100 });
        expect(written.map((e) => e.deviceId)).toEqual([...ids].sort());
        // Again: every device is already in the rollout, nothing is added.
        expect(await store.executions.insertForFilter({ rolloutId: r.id, artifactId }, filter, T0, batch)).toBe(0);
      }
    });

    it('summarises a rollout per (phase, state) with bytes and recent completions', async () => {
      const { rollout: r } = await seed(['succeeded', 'succeeded', 'failed', 'pending']);
      const rows = await store.executionViews.summaryRows(r.id, T0);
      const by = Object.fromEntries(rows.map((x) => [x.state, x]));
      expect(by.succeeded).toMatchObject({ phase: 0, n: 2, finishedRecently: 2 });
      expect(by.failed).toMatchObject({ n: 1, finishedRecently: 1 });
      expect(by.pending).toMatchObject({ n: 1, finishedRecently: 0 });
      expect((await store.executionViews.summaryRows(r.id, T0 + 5000)).reduce((n, x) => n + x.finishedRecently, 0)).toBe(0);
    });

    it('keep the components of a multi-component execution in order, write none for one-artifact ones, and keep them across a retry', async () => {
      const [a, b] = await seedDevices(store, 2, { mode: 'pull', address: null }, `c${randomUUID().slice(0, 4)}`);
      const os = (await seedArtifact(store, '3.0.0')).id;
      const app = (await seedArtifact(store, '3.0.1')).id;
      const r = rollout(os);
      await store.rollouts.create(r);
      const components = [{ component: 'os', artifactId: os }, { component: 'app', artifactId: app }];
      const base = { rolloutId: r.id, artifactId: os, phase: 0, pull: true, timezone: 'UTC', previousArtifactId: null, previousVersion: null };
      const first = { ...base, id: randomUUID(), deviceId: a!, components };
      expect(await store.executions.insertMany([first, { ...base, id: randomUUID(), deviceId: b!, components: [components[0]!] }], T0)).toBe(2);
      expect(await store.executions.componentsOf(r.id, a!)).toEqual(components);
      expect(await store.executions.componentsOf(r.id, b!)).toEqual([]);
      expect(await store.executions.devicesWithComponents(r.id)).toEqual(new Set([a!]));
      // A device already in the rollout keeps its execution and its components.
      expect(await store.executions.insertMany([{ ...base, id: randomUUID(), deviceId: a!, components: [...components].reverse() }], T0)).toBe(0);
      expect(await store.executions.componentsOf(r.id, a!)).toEqual(components);
      // The later component's download is served while the execution is in flight.
      await store.executions.transition([{ id: first.id, from: 'pending', to: 'queued' }], T0 + 1);
      await store.executions.transition([{ id: first.id, from: 'queued', to: 'downloading' }], T0 + 2);
      expect((await store.executions.inFlightWithComponent(a!, app))?.id).toBe(first.id);
      expect(await store.executions.inFlightWithComponent(b!, app)).toBeNull();
      // An operator's retry gives the execution a new id; its components stay.
      await store.executions.transition([{ id: first.id, from: 'downloading', to: 'failed', error: 'boom' }], T0 + 3);
      expect(await store.executions.requeue(r.id, a!, T0 + 4)).toHaveLength(1);
      expect(await store.executions.componentsOf(r.id, a!)).toEqual(components);
    });
  });
}
