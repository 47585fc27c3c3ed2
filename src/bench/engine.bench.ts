// `npm run bench -- engine [--devices N] [--db sqlite,postgres] [--concurrency C] [--batch B]`:
// one immediate rollout over N devices whose deliveries succeed at once (a transport that answers
// immediately), every transition durable (SQLite file in WAL mode, or a fresh PostgreSQL
// database). Times rollout creation (device set fixed, executions written) through completion.
// `--raw` (SQLite) adds the floor of the same durable writes done directly with better-sqlite3:
// per batch, the claim and the outcomes each in one transaction with their events, the outcomes as
// prepared single-row statements, and the versions devices now run; no engine, no Kysely.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../core/index.js';
import type { DeliveryRequest, DeliveryResult, Transport } from '../delivery/transport.js';
import { createEngine } from '../engine/index.js';
import { nextEvent, seedArtifact, seedDevices } from '../testing/engine.js';
import { EventLog, openStore } from '../store/index.js';
import { createTestDatabase, postgresUnavailable } from '../testing/postgres.js';
import { openChannel } from '../cluster/open-channel.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

/** Answers "installed" at once, so the figure is the engine's own bookkeeping. */
class InstantTransport implements Transport {
  readonly name = 'http';
  async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
    return { outcome: 'delivered', bytes: request.artifact.size };
  }
  async close(): Promise<void> {}
}

async function runOne(db: 'sqlite' | 'postgres', devices: number, concurrency: number, batchSize: number): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-engine-'));
  const pg = db === 'postgres' ? await createTestDatabase('uo_bench') : null;
  const store = await openStore(pg ? { url: pg.url, poolSize: 10 } : { sqliteFile: path.join(dir, 'bench.db'), backgroundCheckpoint: true });
  try {
    await seedDevices(store, devices, {}, 'bench');
    const artifact = await seedArtifact(store);
    const events = new EventLog(store.events, systemClock);
    const channel = openChannel(store);
    await channel.start();
    const parts = createEngine({ store, channel, events, clock: systemClock, transports: new Map([['http', new InstantTransport()]]), concurrency, batchSize, tickMs: 50, jobsMs: 1000 });
    parts.engine.start();
    const done = nextEvent(events, (e) => e.type === 'rollout.completed' || e.type === 'rollout.failed' || e.type === 'rollout.paused', 30 * 60_000);
    const rssBefore = process.memoryUsage().rss;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const rollout = await parts.rollouts.create({ artifactId: artifact.id }, 'bench');
    const created = performance.now();
    const end = await done;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await parts.engine.stop();
    await channel.stop();
    const final = await parts.rollouts.get(rollout.id);
    const transitions = await store.events.list({ rolloutId: rollout.id, type: ['execution.'], limit: 1, afterId: 0 });
    return {
      bench: 'engine',
      db,
      devices,
      concurrency,
      batch: batchSize,
      outcome: end.type,
      succeeded: final.counts.succeeded ?? 0,
      errors: devices - (final.counts.succeeded ?? 0),
      create_s: Math.round((created - started) / 10) / 100,
      total_s: Math.round(seconds * 100) / 100,
      devices_per_s: Math.round(devices / seconds),
      // This process's CPU time during the run: on a shared, loaded machine wall time overstates the cost.
      cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      devices_per_cpu_s: Math.round(devices / ((cpu.user + cpu.system) / 1e6)),
      load_avg_1m: Math.round(os.loadavg()[0]! * 10) / 10,
      durable_events: transitions.length > 0,
      peak_rss_mb: Math.round(Math.max(rssBefore, process.memoryUsage().rss) / 1024 / 1024),
    };
  } finally {
    await store.close();
    await pg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The same writes as the engine's hot path, straight on better-sqlite3 (see the header). */
async function runRaw(devices: number, batchSize: number): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-engine-raw-'));
  const store = await openStore({ sqliteFile: path.join(dir, 'bench.db') });
  try {
    await seedDevices(store, devices, {}, 'bench');
    const artifact = await seedArtifact(store);
    const events = new EventLog(store.events, systemClock);
    const channel = openChannel(store);
    // Rollout and executions written as the engine's create writes them; the engine is not started.
    const parts = createEngine({ store, channel, events, clock: systemClock, transports: new Map([['http', new InstantTransport()]]), concurrency: batchSize, batchSize });
    const rollout = await parts.rollouts.create({ artifactId: artifact.id }, 'bench');
    const db = store.handle.sqlite!;
    const owner = 'raw';
    const claim = db.prepare(
      `UPDATE executions SET state = 'delivering', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, started_at = ?, updated_at = ?
       WHERE id IN (SELECT id FROM executions WHERE rollout_id = ? AND state = 'pending' AND pull = 0 AND phase <= 0 AND next_attempt_at <= ? ORDER BY phase LIMIT ?)
       RETURNING ${process.env.RAW_RET ?? "id, device_id, attempts"}`,
    );
    const event = db.prepare('INSERT INTO events (ts, type, actor, rollout_id, device_id, execution_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const finish = db.prepare(
      `UPDATE executions SET state = 'succeeded', updated_at = ?, lease_owner = NULL, lease_expires_at = NULL, finished_at = ?, bytes = ?, bytes_fetched = ?, bytes_reused = 0, error = NULL
       WHERE id = ? AND state = 'delivering' AND lease_owner = ?`,
    );
    const version = db.prepare('UPDATE devices SET version = ?, updated_at = ? WHERE id = ? AND version IS DISTINCT FROM ?');
    type Claimed = { id: string; device_id: string; attempts: number };
    const claimBatch = db.transaction((now: number): Claimed[] => {
      const rows = claim.all(owner, now + 60_000, now, now, rollout.id, now, batchSize) as Claimed[];
      for (const r of rows) event.run(now, 'execution.delivering', 'engine', rollout.id, r.device_id, r.id, JSON.stringify({ from: 'pending', to: 'delivering', attempt: r.attempts, error: null, bytes: null }));
      return rows;
    });
    const finishBatch = db.transaction((rows: Claimed[], now: number) => {
      for (const r of rows) {
        if (finish.run(now, now, artifact.size, artifact.size, r.id, owner).changes === 0) continue;
        event.run(now, 'execution.succeeded', 'engine', rollout.id, r.device_id, r.id, JSON.stringify({ from: 'delivering', to: 'succeeded', attempt: r.attempts, error: null, bytes: artifact.size, bytesFetched: artifact.size, bytesReused: 0 }));
        version.run(artifact.version, now, r.device_id, artifact.version);
      }
    });
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let done = 0;
    for (;;) {
      const rows = claimBatch(Date.now());
      if (rows.length === 0) break;
      finishBatch(rows, Date.now());
      done += rows.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      bench: 'engine',
      db: 'sqlite-raw',
      devices,
      batch: batchSize,
      succeeded: done,
      total_s: Math.round(seconds * 100) / 100,
      devices_per_s: Math.round(devices / seconds),
      cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      load_avg_1m: Math.round(os.loadavg()[0]! * 10) / 10,
    };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const devices = Number(arg(args, 'devices', '100000'));
  const concurrency = Number(arg(args, 'concurrency', '2000'));
  const batch = Number(arg(args, 'batch', '1000'));
  const dbs = arg(args, 'db', 'sqlite,postgres').split(',').filter((db): db is 'sqlite' | 'postgres' => db === 'sqlite' || db === 'postgres');
  for (const db of dbs) {
    if (db === 'postgres' && (await postgresUnavailable())) {
      process.stdout.write(JSON.stringify({ bench: 'engine', db, skipped: 'PostgreSQL unavailable' }) + '\n');
      continue;
    }
    process.stdout.write(JSON.stringify(await runOne(db, devices, concurrency, batch)) + '\n');
  }
  if (args.includes('--raw')) process.stdout.write(JSON.stringify(await runRaw(devices, batch)) + '\n');
}
