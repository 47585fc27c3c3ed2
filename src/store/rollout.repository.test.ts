// Contract tests of rollout persistence, on SQLite and PostgreSQL: a rollout reads back as it was
// written, with its counts per state or without; lists page newest first by (created, id), the
// counts of a page from one grouped query; status changes are compare-and-set, so of two racing
// writers exactly one wins; phases never move back.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollout, RolloutStatus } from '../core/index.js';
import { seedArtifact, seedDevices } from '../testing/engine.js';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

const T0 = Date.parse('2026-02-01T08:00:00Z');

function rollout(artifactId: string, over: Partial<Rollout> = {}): Rollout {
  const iso = new Date(T0).toISOString();
  return {
    id: randomUUID(), name: 'r', artifactId, releaseId: null, filter: { tag: 'ring=canary', version: '<2.0.0' }, strategy: 'progressive',
    phases: [{ percent: 10, successThreshold: 95, soakSeconds: 60, requireApproval: false }, { percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: true }],
    errorThreshold: { percent: 20, action: 'pause' }, window: { daily: '02:00-04:00', timezone: 'Europe/Berlin', expectedDurationSeconds: 300 },
    startAt: null, maxConcurrency: 50, retry: { maxAttempts: 4, backoffSeconds: 10, maxBackoffSeconds: 600 }, rateLimit: { perMinute: 20, growthFactor: 2, growEvery: 10, maxPerMinute: 200 }, continuous: true, downloadAhead: true, maxBandwidth: 50_000_000, maxDeviceBandwidth: 1_000_000,
    status: 'running', statusReason: null, currentPhase: 0, approvedPhase: -1, acceptedPhase: -1, pauseCause: null, revert: false, phaseReachedAt: null, failureBaseline: 0,
    rollbackOf: null, closed: false, createdBy: 'ops', createdAt: iso, updatedAt: iso, startedAt: iso, finishedAt: null, counts: {}, ...over,
  };
}

for (const target of storeTargets) {
  describe(`rollout repository on ${target.name}`, () => {
    let store: Store;
    let skip: string | null = null;
    let artifactId: string;
    beforeAll(async () => {
      skip = await target.skip();
      if (skip) return;
      store = await target.open();
      artifactId = (await seedArtifact(store)).id;
    });
    afterAll(async () => {
      await store?.close();
    });

    it('reads a rollout back as written, with counts per state from get and none from find', async (ctx) => {
      if (skip) return ctx.skip();
      const r = rollout(artifactId);
      await store.rollouts.create(r);
      expect(await store.rollouts.find(r.id)).toEqual(r);
      const devices = await seedDevices(store, 3, {}, 'rr');
      await store.executions.insertMany(devices.map((deviceId) => ({ id: randomUUID(), rolloutId: r.id, deviceId, artifactId, phase: 0, pull: false, timezone: 'UTC', previousArtifactId: null, previousVersion: null })), T0);
      const [first] = await store.executions.list(r.id, { limit: 1 });
      await store.executions.transition([{ id: first!.id, from: 'pending', to: 'failed', error: 'x' }], T0 + 1);
      expect((await store.rollouts.get(r.id))?.counts).toEqual({ pending: 2, failed: 1 });
      expect(await store.rollouts.countsByState(r.id)).toEqual({ pending: 2, failed: 1 });
      expect(await store.rollouts.get(randomUUID())).toBeNull();
      expect(await store.rollouts.find(randomUUID())).toBeNull();
    });

    it('lists newest first, keyset-paged by (created, id) across equal creation times, filtered by status', async (ctx) => {
      if (skip) return ctx.skip();
      const base = T0 + 86_400_000;
      const made: Rollout[] = [];
      for (const [i, status] of (['draft', 'scheduled', 'paused', 'completed', 'cancelled'] as RolloutStatus[]).entries()) {
        const at = new Date(base + Math.floor(i / 2) * 1000).toISOString();
        const r = rollout(artifactId, { name: `page-${i}`, status, createdAt: at, updatedAt: at });
        await store.rollouts.create(r);
        made.push(r);
      }
      const expected = [...made].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1)).map((r) => r.id);
      const paged: string[] = [];
      let before: { createdAt: number; id: string } | null = null;
      const mine = new Set(made.map((r) => r.id));
      for (;;) {
        const page: Rollout[] = await store.rollouts.list({ limit: 2, before });
        if (page.length === 0) break;
        paged.push(...page.map((r) => r.id).filter((id) => mine.has(id)));
        const last = page.at(-1)!;
        before = { createdAt: Date.parse(last.createdAt), id: last.id };
      }
      expect(paged).toEqual(expected);
      expect((await store.rollouts.list({ status: ['paused', 'draft'], limit: 10 })).map((r) => r.name).sort()).toEqual(['page-0', 'page-2']);
      expect(await store.rollouts.count(['completed', 'cancelled'])).toBe(2);
      const live = (await store.rollouts.listLive()).map((r) => r.status);
      expect(live.every((s) => ['scheduled', 'running', 'paused'].includes(s))).toBe(true);
      expect(live).toContain('scheduled');
      expect(await store.rollouts.count()).toBe((await store.rollouts.list({ limit: 100 })).length);
    });

    it('lists a page of several rollouts each with its own counts (one grouped query), and summarises them together', async (ctx) => {
      if (skip) return ctx.skip();
      // Newer than every other rollout of this suite: these three are the first page.
      const at = (i: number) => new Date(T0 + 30 * 86_400_000 + i * 1000).toISOString();
      const [busy, mixed, empty] = [0, 1, 2].map((i) => rollout(artifactId, { name: `counted-${i}`, createdAt: at(3 - i), updatedAt: at(3 - i) }));
      for (const r of [busy!, mixed!, empty!]) await store.rollouts.create(r);
      const executions = async (r: Rollout, n: number, prefix: string) => {
        const devices = await seedDevices(store, n, {}, prefix);
        await store.executions.insertMany(devices.map((deviceId) => ({ id: randomUUID(), rolloutId: r.id, deviceId, artifactId, phase: 0, pull: false, timezone: 'UTC', previousArtifactId: null, previousVersion: null })), T0);
        return store.executions.list(r.id, { limit: n });
      };
      const fail = (ids: string[], now: number) => store.executions.transition(ids.map((id) => ({ id, from: 'pending' as const, to: 'failed' as const, error: 'x' })), now);
      const busyRuns = await executions(busy!, 4, 'cnt-a');
      await fail([busyRuns[0]!.id], T0 + 100);
      const mixedRuns = await executions(mixed!, 3, 'cnt-b');
      await fail([mixedRuns[0]!.id], T0 + 100);
      await fail([mixedRuns[1]!.id, mixedRuns[2]!.id], T0 + 300);

      const page = await store.rollouts.list({ limit: 3 });
      expect(page.map((r) => r.name)).toEqual(['counted-0', 'counted-1', 'counted-2']);
      expect(page.map((r) => r.counts)).toEqual([{ pending: 3, failed: 1 }, { failed: 3 }, {}]);
      // Each as get answers it: one source of counts.
      for (const r of page) expect(r.counts).toEqual((await store.rollouts.get(r.id))!.counts);
      expect((await store.rollouts.list({ limit: 3, counts: false })).map((r) => r.counts)).toEqual([{}, {}, {}]);
      const unknown = randomUUID();
      expect(await store.rollouts.countsOf([busy!.id, unknown])).toEqual(new Map([[busy!.id, { pending: 3, failed: 1 }], [unknown, {}]]));

      // The summary rows of the page, each rollout's recent finishes from its own instant.
      const rows = await store.executionViews.summaryRowsOf([
        { rolloutId: busy!.id, since: T0 + 200 },
        { rolloutId: mixed!.id, since: T0 + 200 },
        { rolloutId: empty!.id, since: 0 },
      ]);
      const recent = (id: string) => rows.get(id)!.reduce((n, r) => n + r.finishedRecently, 0);
      expect([recent(busy!.id), recent(mixed!.id)]).toEqual([0, 2]);
      expect(rows.get(mixed!.id)!.map((r) => [r.state, r.n])).toEqual([['failed', 3]]);
      expect(rows.get(empty!.id)).toEqual([]);
      expect(await store.executionViews.summaryRows(busy!.id, 0)).toEqual(expect.arrayContaining([expect.objectContaining({ state: 'pending', n: 3 }), expect.objectContaining({ state: 'failed', n: 1, finishedRecently: 1 })]));
    });

    it('changes status only from the expected one: of two racing writers exactly one wins', async (ctx) => {
      if (skip) return ctx.skip();
      const r = rollout(artifactId, { name: 'race' });
      await store.rollouts.create(r);
      const results = await Promise.all([
        store.rollouts.update(r.id, ['running'], { status: 'paused', statusReason: 'operator' }, T0 + 10),
        store.rollouts.update(r.id, ['running'], { status: 'cancelled', finishedAt: T0 + 10 }, T0 + 10),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const after = (await store.rollouts.find(r.id))!;
      expect(after.status).toBe(results[0] ? 'paused' : 'cancelled');
      expect(after.updatedAt).toBe(new Date(T0 + 10).toISOString());
      expect(await store.rollouts.update(r.id, ['running'], { status: 'completed' }, T0 + 20)).toBe(false);
    });

    it('moves phases forward only: a step computed from a stale read changes nothing', async (ctx) => {
      if (skip) return ctx.skip();
      const r = rollout(artifactId, { name: 'phases' });
      await store.rollouts.create(r);
      expect(await store.rollouts.update(r.id, ['running'], { currentPhase: 1, phaseReachedAt: T0 + 5 }, T0 + 5)).toBe(true);
      expect(await store.rollouts.update(r.id, ['running'], { currentPhase: 1, phaseReachedAt: T0 + 6 }, T0 + 6)).toBe(false);
      expect(await store.rollouts.update(r.id, ['running'], { currentPhase: 0 }, T0 + 7)).toBe(false);
      const after = (await store.rollouts.find(r.id))!;
      expect(after.currentPhase).toBe(1);
      expect(after.phaseReachedAt).toBe(new Date(T0 + 5).toISOString());
    });

    it('holds an artifact in use while a rollout that delivers it is not finished', async (ctx) => {
      if (skip) return ctx.skip();
      const other = (await seedArtifact(store, '9.9.9', 'in-use')).id;
      expect(await store.rollouts.isArtifactInUse(other)).toBe(false);
      const r = rollout(other, { name: 'holds', status: 'paused' });
      await store.rollouts.create(r);
      expect(await store.rollouts.isArtifactInUse(other)).toBe(true);
      await store.rollouts.update(r.id, ['paused'], { status: 'completed', finishedAt: T0 + 1 }, T0 + 1);
      expect(await store.rollouts.isArtifactInUse(other)).toBe(false);
    });
  });
}
