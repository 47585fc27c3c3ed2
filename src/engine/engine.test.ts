// The engine end to end on SQLite and PostgreSQL with scripted transports: immediate rollouts,
// retries, permanent failures, cancel, threshold pauses, progressive approval, pull devices.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { DeliveryError } from '../delivery/transport.js';
import { EventLog, type Store } from '../store/index.js';
import { storeTargets } from '../testing/stores.js';
import { createEngine, type EngineParts } from './create-engine.js';
import { hangUntilAborted, nextEvent, ScriptedTransport, seedArtifact, seedDevices, seededRandom } from '../testing/engine.js';
import { openChannel } from '../cluster/open-channel.js';

for (const target of storeTargets) {
  describe(`engine on ${target.name}`, () => {
    let store: Store;
    let events: EventLog;
    let clock: ManualClock;
    let parts: EngineParts | null = null;

    beforeEach(async (ctx) => {
      const skip = await target.skip();
      if (skip) ctx.skip();
      store = await target.open();
      clock = new ManualClock(Date.parse('2026-01-15T12:00:00Z'));
      events = new EventLog(store.events, clock);
    });
    afterEach(async () => {
      await parts?.engine.stop();
      parts = null;
      await store?.close();
    });

    const start = (transport: ScriptedTransport, concurrency = 16) => {
      parts = createEngine({ store, channel: openChannel(store), events, clock, random: seededRandom(), transports: new Map([['http', transport]]), concurrency, tickMs: 10, jobsMs: 0, batchSize: 50 });
      parts.engine.start();
      return parts;
    };
    const finished = (rolloutId: string) => nextEvent(events, (e) => e.rolloutId === rolloutId && /^rollout\.(completed|failed|paused|cancelled)$/.test(e.type));

    it('delivers an immediate rollout to every device once and completes', async () => {
      const ids = await seedDevices(store, 120);
      const artifact = await seedArtifact(store);
      const transport = new ScriptedTransport('http');
      const { rollouts } = start(transport);
      const done = nextEvent(events, (e) => e.type === 'rollout.completed');
      const rollout = await rollouts.create({ artifactId: artifact.id, filter: { status: 'online' } }, 'token:test');
      expect(rollout.counts.pending).toBe(120);
      await done;
      const after = await rollouts.get(rollout.id);
      expect(after.status).toBe('completed');
      expect(after.counts).toEqual({ succeeded: 120 });
      expect(new Set(transport.deliveries.map((d) => d.device.id))).toEqual(new Set(ids));
      expect(transport.deliveries).toHaveLength(120);
      const terminal = await store.events.list({ rolloutId: rollout.id, type: ['execution.succeeded'], limit: 1000 });
      expect(terminal).toHaveLength(120);
      expect(terminal[0]!.data).toMatchObject({ from: 'delivering', to: 'succeeded', attempt: 1, bytes: 1024 });
      expect((await store.devices.get(ids[0]!))!.version).toBe('2.0.0');
    });

    it('retries retryable failures with backoff and fails permanent ones, keeping the error', async () => {
      await seedDevices(store, 2, {}, 'flaky');
      await seedDevices(store, 1, {}, 'broken');
      const artifact = await seedArtifact(store);
      const transport = new ScriptedTransport('http', (request, attempt) => {
        // A device's own words may hold bytes no store or terminal should take (PostgreSQL refuses U+0000).
        if (request.device.id.startsWith('broken')) throw new DeliveryError('http_400', 'device said 400 Bad Request: disk\0full\x1b[2J', false);
        if (attempt < 3) throw new DeliveryError('http_503', 'device busy', true);
        return { outcome: 'delivered', bytes: 1024 };
      });
      const { rollouts, engine } = start(transport);
      const rollout = await rollouts.create({ artifactId: artifact.id, retry: { maxAttempts: 3, backoffSeconds: 10, maxBackoffSeconds: 60 } }, 'token:test');
      const done = finished(rollout.id);
      // Retries wait for their backoff: move the clock until everything has finished.
      for (let i = 0; i < 20 && (await rollouts.get(rollout.id)).status === 'running'; i++) {
        await nextEvent(events, (e) => e.type === 'execution.pending' || e.type.startsWith('rollout.'), 2000).catch(() => null);
        clock.advance(60_000);
        engine.wake();
      }
      await done;
      const list = await store.executions.list(rollout.id, { limit: 10 });
      const broken = list.find((e) => e.deviceId.startsWith('broken'))!;
      expect(broken).toMatchObject({ state: 'failed', attempts: 1 });
      expect(broken.error).toBe('http_400: device said 400 Bad Request: disk\uFFFDfull\uFFFD[2J');
      expect(list.filter((e) => e.deviceId.startsWith('flaky')).map((e) => [e.state, e.attempts])).toEqual([['succeeded', 3], ['succeeded', 3]]);
      expect((await rollouts.get(rollout.id)).status).toBe('completed');
    });

    it('cancel aborts in-flight deliveries and never starts pending ones', async () => {
      await seedDevices(store, 10);
      const artifact = await seedArtifact(store);
      const transport = new ScriptedTransport('http', hangUntilAborted);
      const { rollouts } = start(transport, 4);
      const rollout = await rollouts.create({ artifactId: artifact.id }, 'token:test');
      await transport.started(4);
      const cancelled = nextEvent(events, (e) => e.type === 'execution.cancelled' && e.data.from === 'delivering');
      await rollouts.cancel(rollout.id, 'token:test');
      await cancelled;
      // The four in-flight deliveries are recorded as cancelled when their aborts come back.
      await parts!.engine.idle();
      const after = await rollouts.get(rollout.id);
      expect(after.status).toBe('cancelled');
      expect(after.counts).toEqual({ cancelled: 10 });
      expect(transport.deliveries).toHaveLength(4);
      expect(transport.deliveries.every((d) => d.signal?.aborted)).toBe(true);
    });

    it('pauses by itself when a phase exceeds the error threshold, and says why', async () => {
      await seedDevices(store, 20, {}, 'ok');
      await seedDevices(store, 5, {}, 'bad');
      const artifact = await seedArtifact(store);
      const transport = new ScriptedTransport('http', (r) => {
        if (r.device.id.startsWith('bad')) throw new DeliveryError('http_400', 'refused', false);
        return { outcome: 'delivered', bytes: 1 };
      });
      const { rollouts } = start(transport);
      const paused = nextEvent(events, (e) => e.type === 'rollout.paused');
      const rollout = await rollouts.create({ artifactId: artifact.id, errorThreshold: { percent: 2, action: 'pause' } }, 'token:test');
      const event = await paused;
      expect(event.actor).toBe('engine');
      const after = await rollouts.get(rollout.id);
      expect(after.status).toBe('paused');
      expect(after.statusReason).toMatch(/failed .*above the 2% error threshold/);
    });

    it('progressive: waits for approval after the canary phase, then finishes', async () => {
      await seedDevices(store, 30);
      const artifact = await seedArtifact(store);
      const transport = new ScriptedTransport('http');
      const { rollouts } = start(transport);
      const reached = nextEvent(events, (e) => e.type === 'execution.succeeded');
      const rollout = await rollouts.create(
        { artifactId: artifact.id, strategy: 'progressive', phases: [{ count: 3, requireApproval: true }, { percent: 50 }, { percent: 100 }] },
        'token:test',
      );
      await reached;
      // The engine records the canary reaching its threshold, then waits for an operator.
      for (let i = 0; i < 3; i++) await parts!.engine.idle();
      const current = await rollouts.get(rollout.id);
      expect(current.phaseReachedAt).not.toBeNull();
      expect(current.currentPhase).toBe(0);
      expect(current.counts.succeeded).toBe(3);
      expect(current.counts.pending).toBe(27);
      const done = nextEvent(events, (e) => e.type === 'rollout.completed');
      await rollouts.approve(rollout.id, 'token:op');
      await done;
      const types = (await store.events.list({ rolloutId: rollout.id, type: ['rollout.*'], limit: 50, afterId: 0 })).map((e) => e.type);
      expect(types).toEqual(['rollout.created', 'rollout.started', 'rollout.phase-reached', 'rollout.approved', 'rollout.phase-advanced', 'rollout.phase-reached', 'rollout.phase-advanced', 'rollout.completed']);
      expect((await rollouts.get(rollout.id)).counts).toEqual({ succeeded: 30 });
      const reachedEvents = await store.events.list({ rolloutId: rollout.id, type: ['rollout.phase-reached'], limit: 10, afterId: 0 });
      expect(reachedEvents.map((e) => ({ actor: e.actor, data: e.data }))).toEqual([
        { actor: 'engine', data: { phase: 1, soakSeconds: 0, requireApproval: true, status: null } },
        { actor: 'engine', data: { phase: 2, soakSeconds: 0, requireApproval: false, status: null } },
      ]);
    });

    it('releases work to pull devices and takes their reports like push results', async () => {
      const [id] = await seedDevices(store, 1, { mode: 'pull', address: null });
      const artifact = await seedArtifact(store);
      const { rollouts, deviceSync } = start(new ScriptedTransport('http'));
      const released = new Promise<string[]>((resolve) => deviceSync.onTargetChanged(resolve));
      const rollout = await rollouts.create({ artifactId: artifact.id }, 'token:test');
      expect(await released).toEqual([id]);
      const target = (await deviceSync.currentTarget(id!))!;
      expect(target.artifact.id).toBe(artifact.id);
      expect(target.rollout.id).toBe(rollout.id);
      const executionId = target.execution.id;
      await deviceSync.applyReport(id!, { id: executionId, state: 'downloading', bytes: 10 }, `device:${id}`);
      await deviceSync.applyReport(id!, { id: executionId, state: 'installing' }, `device:${id}`);
      // A late duplicate of an earlier step changes nothing.
      expect((await deviceSync.applyReport(id!, { id: executionId, state: 'downloading' }, `device:${id}`)).state).toBe('installing');
      const done = nextEvent(events, (e) => e.type === 'rollout.completed');
      await deviceSync.applyReport(id!, { id: executionId, state: 'succeeded', bytes: 1024 }, `device:${id}`);
      await done;
      expect(await deviceSync.currentTarget(id!)).toBeNull();
      const history = (await store.events.list({ deviceId: id, type: ['execution.*'], limit: 10, afterId: 0 })).map((e) => e.type);
      expect(history).toEqual(['execution.queued', 'execution.downloading', 'execution.installing', 'execution.succeeded']);
      await expect(deviceSync.applyReport(id!, { id: 'nope', state: 'succeeded' }, 'x')).rejects.toThrow(/does not exist/);
    });

    it('group-commits reports that arrive together, each settling on its own', async () => {
      const ids = await seedDevices(store, 40, { mode: 'pull', address: null });
      const artifact = await seedArtifact(store);
      let transactions = 0;
      const transaction = store.transaction;
      store.transaction = (work) => (transactions++, transaction(work));
      const { rollouts, deviceSync } = start(new ScriptedTransport('http'));
      const done = nextEvent(events, (e) => e.type === 'rollout.completed');
      const rollout = await rollouts.create({ artifactId: artifact.id }, 'token:test');
      const targets = await Promise.all(ids.map(async (id) => { for (;;) { const t = await deviceSync.currentTarget(id); if (t?.execution.state === 'queued') return t; await new Promise((r) => setTimeout(r, 5)); } }));
      transactions = 0;
      const saved: string[] = [];
      const reports = ids.map((id, i) =>
        deviceSync.reportState(id, {
          version: artifact.version,
          // The third device reports an execution that is not its own: refused, its version kept.
          execution: { id: i === 2 ? targets[0]!.execution.id : targets[i]!.execution.id, state: 'succeeded' },
          alongside: async (tx) => { saved.push(id); await tx.deviceReports.save(id, { i }, undefined, clock.now()); },
        }, `device:${id}`),
      );
      const settled = await Promise.allSettled(reports);
      // The first report is written alone (on PostgreSQL, the first two), the rest together while
      // it was; the engine's own work may add a few units of work, not one per report.
      expect(transactions).toBeLessThanOrEqual(10);
      expect(settled.map((s) => s.status)).toEqual(ids.map((_, i) => (i === 2 ? 'rejected' : 'fulfilled')));
      expect(String((settled[2] as PromiseRejectedResult).reason)).toMatch(/does not exist/);
      expect(saved.sort()).toEqual(ids.filter((_, i) => i !== 2).sort());
      expect((await store.devices.get(ids[2]!))!.version).toBe(artifact.version);
      expect(await store.deviceReports.get(ids[2]!)).toBeNull();
      const succeeded = await store.events.list({ rolloutId: rollout.id, type: ['execution.succeeded'], limit: 100 });
      expect(succeeded.map((e) => `${e.deviceId} ${e.actor}`).sort()).toEqual(ids.filter((_, i) => i !== 2).map((id) => `${id} device:${id}`).sort());
      await deviceSync.reportState(ids[2]!, { execution: { id: targets[2]!.execution.id, state: 'succeeded' } }, `device:${ids[2]}`);
      await done;
      expect((await rollouts.get(rollout.id)).counts).toEqual({ succeeded: 40 });
    });

    it('writes a batch that failed as a whole again report by report, so only the bad one fails', async () => {
      const ids = await seedDevices(store, 6, { mode: 'pull', address: null });
      const artifact = await seedArtifact(store);
      const { rollouts, deviceSync } = start(new ScriptedTransport('http'));
      const rollout = await rollouts.create({ artifactId: artifact.id }, 'token:test');
      const targets = await Promise.all(ids.map(async (id) => { for (;;) { const t = await deviceSync.currentTarget(id); if (t?.execution.state === 'queued') return t; await new Promise((r) => setTimeout(r, 5)); } }));
      const settled = await Promise.allSettled(ids.map((id, i) =>
        deviceSync.reportState(id, {
          version: artifact.version,
          execution: { id: targets[i]!.execution.id, state: 'succeeded' },
          alongside: async (tx) => {
            if (i === 3) await tx.devices.setDeviceType('no-such-device', 'x', clock.now()).then(() => { throw new Error('inventory write failed'); });
          },
        }, `device:${id}`),
      ));
      expect(settled.map((s) => s.status)).toEqual(ids.map((_, i) => (i === 3 ? 'rejected' : 'fulfilled')));
      // The failed report wrote nothing, not even its version; the others are written once.
      expect((await store.devices.get(ids[3]!))!.version).not.toBe(artifact.version);
      expect((await store.executions.get(targets[3]!.execution.id))!.state).toBe('queued');
      const succeeded = await store.events.list({ rolloutId: rollout.id, type: ['execution.succeeded'], limit: 100 });
      expect(succeeded.map((e) => e.deviceId).sort()).toEqual(ids.filter((_, i) => i !== 3).sort());
    });
  });
}
