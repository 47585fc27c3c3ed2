// The one phase rule through the real engine on SQLite and PostgreSQL: failures within the error
// threshold let the next phase start, a breach or a missed success threshold pauses (never fails,
// never skips), resume goes on, abort ends it, retry re-queues failures of an ended rollout, and
// a phase awaiting approval says so with no ETA; on PostgreSQL the jobs fold the count deltas.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type EventRecord } from '../core/index.js';
import { DeliveryError, type DeliveryRequest } from '../delivery/transport.js';
import { EventLog, type Store } from '../store/index.js';
import { storeTargets } from '../testing/stores.js';
import { createEngine, type EngineParts } from './create-engine.js';
import { nextEvent, ScriptedTransport, seedArtifact, seedDevices, seededRandom } from '../testing/engine.js';
import { openChannel } from '../cluster/open-channel.js';

for (const target of storeTargets) {
  describe(`phase rule on ${target.name}`, () => {
    let store: Store;
    let events: EventLog;
    let parts: EngineParts;

    beforeEach(async (ctx) => {
      if (await target.skip()) ctx.skip();
      store = await target.open();
      const clock = new ManualClock(Date.parse('2026-01-15T12:00:00Z'));
      events = new EventLog(store.events, clock);
    });
    afterEach(async () => {
      await parts?.engine.stop();
      await store?.close();
    });

    /** Fails the first `n` deliveries for good (a 4xx), installs the rest. */
    function failingFirst(n: number): ScriptedTransport {
      let failed = 0;
      return new ScriptedTransport('http', (request: DeliveryRequest) => {
        if (failed < n && request.device.tags.ring !== 'retried') {
          failed++;
          throw new DeliveryError('http_422', 'the device refused the update', false);
        }
        return { outcome: 'delivered', bytes: request.artifact.size };
      });
    }
    const start = (transport: ScriptedTransport) => {
      parts = createEngine({ store, channel: openChannel(store), events, clock: new ManualClock(Date.parse('2026-01-15T12:00:00Z')), random: seededRandom(), transports: new Map([['http', transport]]), concurrency: 1, tickMs: 10, jobsMs: 0 });
      parts.engine.start();
      return parts;
    };
    const outcome = (id: string) => nextEvent(events, (e) => e.rolloutId === id && /^rollout\.(completed|failed|paused)$/.test(e.type));
    const types = async (id: string) => (await store.events.list({ rolloutId: id, type: ['rollout.*'], limit: 100, afterId: 0 })).map((e: EventRecord) => e.type);
    const progressive = (over: Record<string, unknown>) => ({ strategy: 'progressive', phases: [{ count: 5 }, { percent: 100 }], ...over });

    it('goes on to the next phase with one failure out of five under a 30% error threshold', async () => {
      await seedDevices(store, 10);
      const artifact = await seedArtifact(store);
      const transport = failingFirst(1);
      const { rollouts } = start(transport);
      const rollout = await rollouts.create({ artifactId: artifact.id, ...progressive({ errorThreshold: { percent: 30 } }) }, 'token:op');
      expect((await outcome(rollout.id)).type).toBe('rollout.completed');
      const done = await rollouts.describe(rollout.id);
      expect(done).toMatchObject({ status: 'completed', counts: { succeeded: 9, failed: 1 }, progress: { total: 10, finished: 10, percentDone: 100, failed: 1, successRate: 90 } });
      expect(done.progress.phases.map((p) => p.counts)).toEqual([{ succeeded: 4, failed: 1 }, { succeeded: 5 }]);
      expect(await types(rollout.id)).toEqual(['rollout.created', 'rollout.started', 'rollout.phase-reached', 'rollout.phase-advanced', 'rollout.completed']);
      expect(transport.deliveries).toHaveLength(10);
      // On PostgreSQL the count deltas the rollout's writes appended are folded by the engine's jobs.
      if (target.name === 'postgres') {
        const deltas = async () => (await store.handle.db.selectFrom('execution_count_deltas').select('id').execute()).length;
        for (let waited = 0; (await deltas()) > 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await deltas()).toBe(0);
        expect((await store.handle.db.selectFrom('execution_counts').select(['phase', 'state', 'n']).where('rollout_id', '=', rollout.id).orderBy('phase').orderBy('state').execute()).map((r) => [r.phase, r.state, Number(r.n)])).toEqual([[0, 'failed', 1], [0, 'succeeded', 4], [1, 'succeeded', 5]]);
      }
    });

    it('pauses with the reason when failures exceed the threshold, delivers nothing more, and resume goes on', async () => {
      await seedDevices(store, 10);
      const artifact = await seedArtifact(store);
      const transport = failingFirst(2);
      const { rollouts } = start(transport);
      const rollout = await rollouts.create({ artifactId: artifact.id, ...progressive({ errorThreshold: { percent: 30 } }) }, 'token:op');
      expect((await outcome(rollout.id)).type).toBe('rollout.paused');
      await parts.engine.idle();
      const paused = await rollouts.describe(rollout.id);
      expect(paused).toMatchObject({ status: 'paused', pauseCause: 'error-threshold', waiting: null, progress: { etaSeconds: null } });
      expect(paused.statusReason).toMatch(/^phase 1: 2 of 5 devices failed \(40\.0%\), above the 30% error threshold; resume to go on/);
      // Nothing of phase 2 started and nothing was skipped.
      expect(paused.progress.phases[1]!.counts).toEqual({ pending: 5 });
      expect(paused.counts.skipped).toBeUndefined();
      const completed = nextEvent(events, (e) => e.rolloutId === rollout.id && e.type === 'rollout.completed');
      await rollouts.resume(rollout.id, 'token:op');
      await completed;
      expect((await rollouts.describe(rollout.id)).counts).toEqual({ succeeded: 8, failed: 2 });
    });

    it('pauses when a finished phase misses its success threshold; resume accepts it and the rollout completes', async () => {
      await seedDevices(store, 10);
      const artifact = await seedArtifact(store);
      const { rollouts } = start(failingFirst(1));
      const rollout = await rollouts.create({ artifactId: artifact.id, strategy: 'progressive', phases: [{ count: 5, successThreshold: 100 }, { percent: 100 }] }, 'token:op');
      expect((await outcome(rollout.id)).type).toBe('rollout.paused');
      const paused = await rollouts.describe(rollout.id);
      expect(paused).toMatchObject({ status: 'paused', pauseCause: 'success-threshold', progress: { etaSeconds: null, phases: [{ counts: { succeeded: 4, failed: 1 } }, { counts: { pending: 5 } }] } });
      expect(paused.statusReason).toMatch(/phase 1 finished with 4 of 5 devices succeeded \(80\.0%\), below its 100% success threshold/);
      const completed = nextEvent(events, (e) => e.rolloutId === rollout.id && e.type === 'rollout.completed');
      const resumed = await rollouts.resume(rollout.id, 'token:op');
      expect(resumed).toMatchObject({ acceptedPhase: 0, pauseCause: null });
      await completed;
      expect((await rollouts.describe(rollout.id)).counts).toEqual({ succeeded: 9, failed: 1 });
    });

    it('abort ends the rollout failed and cancels what had not started', async () => {
      await seedDevices(store, 10);
      const artifact = await seedArtifact(store);
      const { rollouts } = start(failingFirst(1));
      const rollout = await rollouts.create({ artifactId: artifact.id, ...progressive({ errorThreshold: { percent: 10, action: 'abort' } }) }, 'token:op');
      expect((await outcome(rollout.id)).type).toBe('rollout.failed');
      await parts.engine.idle();
      const failed = await rollouts.describe(rollout.id);
      expect(failed.statusReason).toMatch(/^aborted: phase 1: 1 of 5 devices failed/);
      expect(failed.counts.failed).toBe(1);
      expect(failed.counts.cancelled! + (failed.counts.succeeded ?? 0) + 1).toBe(10);
      expect(failed.progress).toMatchObject({ total: 10, finished: 10, percentDone: 100 });
    });

    it('retry re-queues the failed device of a completed rollout with a fresh attempt, and it completes again', async () => {
      const ids = await seedDevices(store, 3);
      const artifact = await seedArtifact(store);
      const transport = failingFirst(1);
      const { rollouts } = start(transport);
      const rollout = await rollouts.create({ artifactId: artifact.id }, 'token:op');
      expect((await outcome(rollout.id)).type).toBe('rollout.completed');
      expect((await rollouts.get(rollout.id)).counts).toEqual({ succeeded: 2, failed: 1 });
      await expect(rollouts.retry(rollout.id, 'token:op', ids.find((id) => id !== transport.deliveries[0]!.device.id)!)).rejects.toThrow(/is succeeded in rollout .*only failed or rolled-back devices can be retried/);
      const again = nextEvent(events, (e) => e.rolloutId === rollout.id && e.type === 'rollout.completed');
      expect(await rollouts.retry(rollout.id, 'token:op')).toEqual({ retried: 1, reopened: true });
      await again;
      expect((await rollouts.describe(rollout.id)).counts).toEqual({ succeeded: 3 });
      expect(transport.deliveries).toHaveLength(4);
      const retried = (await store.events.list({ rolloutId: rollout.id, type: ['rollout.retried'], limit: 10, afterId: 0 }))[0]!;
      expect(retried).toMatchObject({ actor: 'token:op', data: { devices: 1, reopened: true, previousStatus: 'completed', status: 'running' } });
      await expect(rollouts.retry(rollout.id, 'token:op')).rejects.toThrow(/no failed or rolled-back devices to retry/);
    });

    it('a phase awaiting approval shows waiting "approval" with no ETA until approved', async () => {
      await seedDevices(store, 6);
      const artifact = await seedArtifact(store);
      const { rollouts } = start(new ScriptedTransport('http'));
      const advanced = nextEvent(events, (e) => e.type === 'execution.succeeded');
      const rollout = await rollouts.create({ artifactId: artifact.id, strategy: 'progressive', phases: [{ count: 2, requireApproval: true }, { percent: 100 }] }, 'token:op');
      await advanced;
      for (let i = 0; i < 3; i++) await parts.engine.idle();
      const waiting = await rollouts.describe(rollout.id);
      expect(waiting).toMatchObject({ status: 'running', waiting: 'approval', waitingUntil: null, progress: { etaSeconds: null, finished: 2, total: 6 } });
      const completed = nextEvent(events, (e) => e.rolloutId === rollout.id && e.type === 'rollout.completed');
      await rollouts.approve(rollout.id, 'token:op');
      await completed;
      expect(await rollouts.describe(rollout.id)).toMatchObject({ status: 'completed', waiting: null, progress: { etaSeconds: null, percentDone: 100 } });
    });
  });
}
