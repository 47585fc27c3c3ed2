// Contract tests of migration 0010's execution writes and reads, on SQLite and PostgreSQL: an
// operator's retry (new ids, fresh attempts, only failures), the installed-after-cancel note,
// bytes progress that does not move the state's time, in-flight lookups, the summary rows, a
// device's history, and what a rollback takes as each device's previous artifact.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionState, Rollout } from '../core/index.js';
import { seedArtifact, seedDevices } from '../engine/testing.js';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

const T0 = Date.parse('2026-01-15T12:00:00Z');
/** How seed() walks an execution to a state through the state machine. */
const PATHS: Partial<Record<ExecutionState, ExecutionState[]>> = { queued: ['queued'], downloading: ['queued', 'downloading'], installing: ['queued', 'downloading', 'installing'] };

function rollout(artifactId: string, over: Partial<Rollout> = {}): Rollout {
  const iso = new Date(T0).toISOString();
  return {
    id: randomUUID(), name: 'r', artifactId, filter: {}, strategy: 'immediate', phases: [{ percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: false }],
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

    it('summarises a rollout per (phase, state) with bytes and recent completions', async () => {
      const { rollout: r } = await seed(['succeeded', 'succeeded', 'failed', 'pending']);
      const rows = await store.executionViews.summaryRows(r.id, T0);
      const by = Object.fromEntries(rows.map((x) => [x.state, x]));
      expect(by.succeeded).toMatchObject({ phase: 0, n: 2, finishedRecently: 2 });
      expect(by.failed).toMatchObject({ n: 1, finishedRecently: 1 });
      expect(by.pending).toMatchObject({ n: 1, finishedRecently: 0 });
      expect((await store.executionViews.summaryRows(r.id, T0 + 5000)).reduce((n, x) => n + x.finishedRecently, 0)).toBe(0);
    });
  });
}
