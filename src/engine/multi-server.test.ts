// Several servers on one PostgreSQL database: their engines claim disjoint batches (SKIP LOCKED),
// every device is delivered to once, and the periodic jobs finish the rollout exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/index.js';
import { EventLog, openStore, type Store } from '../store/index.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';
import { createEngine, type EngineParts } from './create-engine.js';
import { nextEvent, ScriptedTransport, seedArtifact, seedDevices } from '../testing/engine.js';
import { openChannel } from '../cluster/open-channel.js';

describe('several engines on one PostgreSQL database', () => {
  let db: TestDatabase | null = null;
  const stores: Store[] = [];
  const engines: EngineParts[] = [];

  beforeAll(async () => {
    if (await postgresUnavailable()) return;
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const e of engines) await e.engine.stop();
    for (const s of stores) await s.close();
    await db?.drop();
  });

  it('share the work without delivering anything twice', async (ctx) => {
    if (!db) return ctx.skip();
    const transports: ScriptedTransport[] = [];
    const logs: EventLog[] = [];
    for (let i = 0; i < 3; i++) {
      const store = await openStore({ url: db.url, poolSize: 4 });
      stores.push(store);
      const events = new EventLog(store.events, systemClock);
      logs.push(events);
      // A small async pause per delivery so the engines overlap in time.
      const transport = new ScriptedTransport('http', async (r) => {
        await new Promise((resolve) => setImmediate(resolve));
        return { outcome: 'delivered', bytes: r.artifact.size };
      });
      transports.push(transport);
      engines.push(createEngine({ store, channel: openChannel(store), events, clock: systemClock, transports: new Map([['http', transport]]), concurrency: 8, batchSize: 20, tickMs: 20, jobsMs: 100 }));
    }
    const ids = await seedDevices(stores[0]!, 300);
    const artifact = await seedArtifact(stores[0]!);
    for (const e of engines) e.engine.start();
    const created = await engines[0]!.rollouts.create({ artifactId: artifact.id }, 'token:test');
    // Each server publishes only its own events; the one that runs the jobs announces completion.
    await Promise.any(logs.map((log) => nextEvent(log, (e) => e.type === 'rollout.completed' && e.rolloutId === created.id, 60_000)));
    const perDevice = new Map<string, number>();
    for (const t of transports) for (const d of t.deliveries) perDevice.set(d.device.id, (perDevice.get(d.device.id) ?? 0) + 1);
    expect(perDevice.size).toBe(ids.length);
    expect([...perDevice.values()].every((n) => n === 1)).toBe(true);
    expect(transports.filter((t) => t.deliveries.length > 0).length).toBeGreaterThan(1);
    const completions = await stores[0]!.events.list({ rolloutId: created.id, type: ['rollout.completed'], limit: 10 });
    expect(completions).toHaveLength(1);
    const terminal = await stores[0]!.events.list({ rolloutId: created.id, type: ['execution.succeeded'], limit: 1000 });
    expect(new Set(terminal.map((e) => e.deviceId)).size).toBe(ids.length);
    expect(terminal).toHaveLength(ids.length);
  });
});
