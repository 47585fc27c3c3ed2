// Contract tests of the execution counts the database keeps (migration 0018), on SQLite and
// PostgreSQL: after any sequence of inserts, claims, transitions, bulk moves, reaps, bytes
// progress, installs after a cancel, retries and deletes, folded or not in between, the counts and
// summary rows equal a full grouped scan of the executions; they are exact inside a transaction;
// concurrent folds count nothing twice; the migration counts the executions already there; and
// the migrator keeps trigger and function bodies whole.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canTransition, EXECUTION_STATES, type ExecutionState, type Rollout } from '../core/index.js';
import { seedArtifact, seedDevices, seededRandom } from '../testing/engine.js';
import { scanCountsByPhase, scanSummaryRows, sortGroups } from '../testing/execution-scan.js';
import { createTestDatabase, postgresUnavailable } from '../testing/postgres.js';
import { storeTargets } from '../testing/stores.js';
import { createStore, migrate, openDatabase, openStore, statements, type Store, type TransitionItem } from './index.js';

const T0 = Date.parse('2026-01-15T12:00:00Z');

function rollout(artifactId: string, over: Partial<Rollout> = {}): Rollout {
  const iso = new Date(T0).toISOString();
  return {
    id: randomUUID(), name: 'r', artifactId, releaseId: null, filter: {}, strategy: 'immediate', phases: [{ percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: false }],
    errorThreshold: null, window: null, startAt: null, maxConcurrency: null, retry: { maxAttempts: 3, backoffSeconds: 5, maxBackoffSeconds: 300 }, rateLimit: null, continuous: false, downloadAhead: false, maxBandwidth: null, maxDeviceBandwidth: null,
    status: 'running', statusReason: null, currentPhase: 0, approvedPhase: -1, acceptedPhase: -1, pauseCause: null, revert: false, phaseReachedAt: null, failureBaseline: 0,
    rollbackOf: null, closed: false, createdBy: 'test', createdAt: iso, updatedAt: iso, startedAt: iso, finishedAt: null, counts: {}, ...over,
  };
}

/** Inserts `n` executions of fresh devices into a new rollout, spread over phases 0-2, push and pull. */
async function seedRollout(store: Store, n: number, random: () => number = Math.random): Promise<{ rollout: Rollout; deviceIds: string[] }> {
  const artifact = await seedArtifact(store, `4.${Math.floor(random() * 1e6)}.0`);
  const r = rollout(artifact.id);
  await store.rollouts.create(r);
  const deviceIds = await seedDevices(store, n, { mode: 'pull', address: null }, `k${randomUUID().slice(0, 6)}`);
  await store.executions.insertMany(deviceIds.map((deviceId) => ({ id: randomUUID(), rolloutId: r.id, deviceId, artifactId: artifact.id, phase: Math.floor(random() * 3), pull: random() < 0.5, timezone: 'UTC', previousArtifactId: null, previousVersion: null })), T0);
  return { rollout: r, deviceIds };
}

/** What the counts say of a rollout, next to what a scan of its executions says. */
async function expectExact(store: Store, rolloutIds: string[], since: number, step: string): Promise<void> {
  const summaries = await store.executionViews.summaryRowsOf(rolloutIds.map((rolloutId) => ({ rolloutId, since })));
  for (const id of rolloutIds) {
    expect(sortGroups(await store.executions.countsByPhase(id)), `${step}: counts of ${id}`).toEqual(await scanCountsByPhase(store.handle.db, id));
    expect(sortGroups(summaries.get(id) ?? []), `${step}: summary of ${id}`).toEqual(await scanSummaryRows(store.handle.db, id, since));
  }
}

for (const target of storeTargets) {
  describe(`execution counts on ${target.name}`, () => {
    let store: Store;
    beforeEach(async (ctx) => {
      if (await target.skip()) ctx.skip();
      store = await target.open();
    });
    afterEach(async () => store?.close());

    it('equal a full scan after any sequence of writes, folded or not in between', async () => {
      const random = seededRandom(7);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const rollouts = [await seedRollout(store, 30, random), await seedRollout(store, 30, random), await seedRollout(store, 20, random)];
      const live = rollouts.map((r) => r.rollout.id);
      let now = T0 + 1_000;
      const executionsOf = async (id: string) => store.executions.list(id, { limit: 1_000 });
      const ops: Record<string, () => Promise<unknown>> = {
        // New devices join, and devices already in the rollout are left alone.
        insert: async () => {
          const { rollout: r, deviceIds } = pick(rollouts);
          if (!live.includes(r.id)) return;
          const fresh = await seedDevices(store, 3, { mode: 'pull', address: null }, `j${randomUUID().slice(0, 6)}`);
          await store.executions.insertMany([...fresh, pick(deviceIds)].map((deviceId) => ({ id: randomUUID(), rolloutId: r.id, deviceId, artifactId: r.artifactId, phase: Math.floor(random() * 3), pull: random() < 0.5, timezone: 'UTC', previousArtifactId: null, previousVersion: null })), now);
        },
        // Several changes at once, some stale (from a state the execution is no longer in).
        transition: async () => {
          const executions = await executionsOf(pick(live));
          const items: TransitionItem[] = [];
          for (let i = 0; i < 8 && executions.length; i++) {
            const e = pick(executions);
            const from: ExecutionState = random() < 0.8 ? e.state : pick(EXECUTION_STATES);
            const to = pick(EXECUTION_STATES.filter((s) => canTransition(from, s)));
            if (!to || items.some((item) => item.id === e.id)) continue;
            items.push({ id: e.id, from, to, bytes: random() < 0.5 ? Math.floor(random() * 5_000) : undefined, bytesFetched: random() < 0.3 ? Math.floor(random() * 900) : undefined, bytesReused: random() < 0.3 ? Math.floor(random() * 900) : undefined, error: to === 'failed' ? 'boom' : undefined });
          }
          await store.executions.transition(items, now);
        },
        moveAll: async () => {
          const from = pick(EXECUTION_STATES.filter((s) => !['succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'].includes(s)));
          const to = pick(EXECUTION_STATES.filter((s) => canTransition(from, s)));
          await store.executions.moveAll(pick(live), from, to, now, { pullOnly: random() < 0.3 });
        },
        claim: async () => {
          await store.executions.claim({ rolloutId: pick(live), maxPhase: Math.floor(random() * 3), limit: 1 + Math.floor(random() * 6), now, pull: random() < 0.5, lease: { owner: 'engine-a', expiresAt: now + 2_000 } });
        },
        reap: async () => {
          await store.executions.reapExpired(now, 1 + Math.floor(random() * 5));
        },
        recordBytes: async () => {
          const e = pick(await executionsOf(pick(live)));
          if (e) await store.executions.recordBytes(e.id, e.state, e.bytes + 1 + Math.floor(random() * 1_000));
        },
        installedAfterCancel: async () => {
          const cancelled = (await executionsOf(pick(live))).filter((e) => e.state === 'cancelled');
          if (cancelled.length) await store.executions.noteInstalledAfterCancel(pick(cancelled).id, 'installed anyway');
        },
        // A retry gives the executions new ids.
        requeue: async () => {
          await store.executions.requeue(pick(live), null, now);
        },
        delete: async () => {
          const e = pick(await executionsOf(pick(live)));
          if (e) await store.handle.db.deleteFrom('executions').where('id', '=', e.id).execute();
        },
        fold: async () => {
          await store.executionCounts.fold(1 + Math.floor(random() * 12));
        },
      };
      const names = Object.keys(ops);
      for (let step = 0; step < 160; step++) {
        now += Math.floor(random() * 1_500);
        const name = pick(names);
        await ops[name]!();
        await expectExact(store, rollouts.map((r) => r.rollout.id), now - 3_000, `step ${step} (${name})`);
        // Deleting a rollout cascades to its executions, whose deltas cancel its counts.
        if (step === 120) {
          await store.handle.db.deleteFrom('rollouts').where('id', '=', live.pop()!).execute();
          await expectExact(store, rollouts.map((r) => r.rollout.id), now - 3_000, `step ${step} (rollout deleted)`);
        }
      }
      // Folded down to nothing, the totals alone are exact, and the deleted rollout has none left.
      while ((await store.executionCounts.fold(10_000)) > 0);
      expect(await store.handle.db.selectFrom('execution_count_deltas').select('id').execute()).toEqual([]);
      await expectExact(store, rollouts.map((r) => r.rollout.id), now - 3_000, 'folded');
      // Totals that came to 0 stay on SQLite (its triggers write them; reads skip them); a fold drops them.
      const deleted = await store.handle.db.selectFrom('execution_counts').select('n').where('rollout_id', '=', rollouts[2]!.rollout.id).execute();
      expect(deleted.filter((r) => Number(r.n) !== 0)).toEqual([]);
      if (target.name === 'postgres') {
        expect(deleted).toEqual([]);
        expect(await store.handle.db.selectFrom('execution_counts').selectAll().where('n', '=', 0).execute()).toEqual([]);
      }
    });

    it('are exact inside a transaction, and a transaction rolled back leaves none of its changes', async () => {
      const { rollout: r } = await seedRollout(store, 10);
      await store.executionCounts.fold(10_000);
      const before = sortGroups(await store.executions.countsByPhase(r.id));
      const [first] = await store.executions.list(r.id, { limit: 1 });
      const inside = await store
        .transaction(async (tx) => {
          await tx.executions.transition([{ id: first!.id, from: 'pending', to: 'queued' }], T0 + 1_000);
          const counts = sortGroups(await tx.executions.countsByPhase(r.id));
          throw Object.assign(new Error('roll back'), { counts });
        })
        .catch((error: { counts: unknown }) => error.counts);
      const moved = before.flatMap((g) => (g.phase === first!.phase && g.state === 'pending' ? (g.n > 1 ? [{ ...g, n: g.n - 1 }] : []) : [g]));
      expect(inside).toEqual(sortGroups([...moved, { phase: first!.phase, state: 'queued', n: 1 }]));
      expect(sortGroups(await store.executions.countsByPhase(r.id))).toEqual(before);
      expect(await scanCountsByPhase(store.handle.db, r.id)).toEqual(before);
    });

    it('the migration counts the executions already there', async () => {
      const database = target.name === 'postgres' ? await createTestDatabase() : null;
      const handle = openDatabase(database ? { url: database.url } : { sqliteFile: ':memory:' });
      try {
        await migrate(handle, { through: '0017_execution_components' });
        const old = createStore(handle);
        const { rollout: r } = await seedRollout(old, 25);
        const executions = await old.executions.list(r.id, { limit: 100 });
        await old.executions.transition(executions.slice(0, 10).map((e) => ({ id: e.id, from: 'pending', to: 'queued', bytes: 100 })), T0 + 1_000);
        await old.executions.transition(executions.slice(0, 4).map((e) => ({ id: e.id, from: 'queued', to: 'succeeded', bytesFetched: 70, bytesReused: 30 })), T0 + 2_000);
        expect(await migrate(handle)).toEqual(['0018_execution_counts']);
        const store = createStore(handle);
        expect(await store.handle.db.selectFrom('execution_count_deltas').select('id').execute()).toEqual([]);
        expect((await store.handle.db.selectFrom('execution_counts').select('n').execute()).length).toBeGreaterThan(0);
        await expectExact(store, [r.id], T0 + 1_500, 'migrated');
        await store.executions.moveAll(r.id, 'queued', 'cancelled', T0 + 3_000);
        await expectExact(store, [r.id], T0 + 1_500, 'after the migration');
      } finally {
        await handle.close();
        await database?.drop();
      }
    });
  });
}

describe('execution counts folded concurrently on postgres', () => {
  it('count nothing twice: two servers fold while executions change', async (ctx) => {
    const reason = await postgresUnavailable();
    if (reason) return ctx.skip();
    const db = await createTestDatabase();
    const servers = [await openStore({ url: db.url, poolSize: 4 }), await openStore({ url: db.url, poolSize: 4 })];
    try {
      const [a, b] = servers as [Store, Store];
      const { rollout: r } = await seedRollout(a, 200);
      const executions = await a.executions.list(r.id, { limit: 1_000 });
      // One statement per execution, so there are many deltas to fold, from both servers.
      const writes = executions.map((e, i) => () => (i % 2 ? a : b).executions.transition([{ id: e.id, from: 'pending', to: 'queued', bytes: i }], T0 + 1_000));
      const folds = Array.from({ length: 40 }, (_, i) => () => (i % 2 ? a : b).executionCounts.fold(3));
      const work = [...writes, ...folds].sort(() => Math.random() - 0.5);
      let folded = 0;
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let job = work.pop(); job; job = work.pop()) {
            const result = await job();
            if (typeof result === 'number') folded += result;
          }
        }),
      );
      for (let n = await a.executionCounts.fold(50); n > 0; n = await b.executionCounts.fold(50)) folded += n;
      expect(folded).toBeGreaterThan(0);
      expect(await a.handle.db.selectFrom('execution_count_deltas').select('id').execute()).toEqual([]);
      await expectExact(a, [r.id], T0, 'folded by two servers');
    } finally {
      for (const s of servers) await s.close();
      await db.drop();
    }
  });
});

describe('migration statements', () => {
  it('keep a SQLite trigger body (with a CASE in it) and a PostgreSQL function body whole', () => {
    const text = [
      '-- a comment; with a semicolon',
      'CREATE TABLE t (a INT);',
      'CREATE TRIGGER t_insert AFTER INSERT ON t',
      'BEGIN',
      '  INSERT INTO u VALUES (CASE WHEN NEW.a > 0 THEN 1 ELSE 0 END);',
      '  INSERT INTO u VALUES (2);',
      'END;',
      'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$',
      'BEGIN',
      '  INSERT INTO u VALUES (1);',
      '  RETURN NULL;',
      'END $$;',
      'CREATE INDEX t_a ON t (a)',
    ].join('\n');
    const out = statements(text);
    expect(out).toHaveLength(4);
    expect(out[0]).toBe('CREATE TABLE t (a INT)');
    expect(out[1]).toMatch(/^CREATE TRIGGER t_insert[\s\S]*VALUES \(2\);\nEND$/);
    expect(out[2]).toMatch(/^CREATE FUNCTION f\(\)[\s\S]*RETURN NULL;\nEND \$\$$/);
    expect(out[3]).toBe('CREATE INDEX t_a ON t (a)');
  });
});
