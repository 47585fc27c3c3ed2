// Several servers on one PostgreSQL database (three apps built by the composition root, each with
// its engine, on loopback ports, sharing a data directory as DESIGN's several-servers mode does):
// work is shared without delivering one execution twice at once, phase steps and the offline sweep
// run once, a target change made through one server reaches a device polling another, and a
// WebSocket client of one server sees events appended through another.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../app.js';
import { startInstallCounter, type InstallCounter } from '../chaos/install-counter.js';
import { loadConfig } from '../config.js';
import type { DeviceInput } from '../core/index.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';
import { sqlPool, type SqlPool } from '../testing/raw-sql.js';
import { connectWs } from '../testing/ws-client.js';

const unavailable = await postgresUnavailable();

/** Checks `read` until `done` holds (for state only the database or another server shows). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const device = (id: string, over: Partial<DeviceInput> = {}): DeviceInput => ({ id, name: id, address: null, mode: 'pull', status: 'online', lastSeen: null, version: '1.0.0', location: null, timezone: 'UTC', tags: {}, metadata: {}, ...over });

describe.skipIf(unavailable !== null)('three servers on one PostgreSQL database', () => {
  let db: TestDatabase;
  let admin: SqlPool;
  let dataDir: string;
  let counter: InstallCounter;
  const apps: App[] = [];
  const urls: string[] = [];
  let token = '';

  const call = async (server: number, method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(urls[server] + urlPath, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, etag: response.headers.get('etag'), json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };

  beforeAll(async () => {
    db = await createTestDatabase('uo_cluster');
    admin = sqlPool(db.url);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-cluster-'));
    counter = await startInstallCounter({ holdMs: 50 });
    for (let i = 0; i < 3; i++) {
      const config = loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', databaseUrl: db.url, pollIntervalSeconds: 1, offlineAfterMissedPolls: 2 }, {});
      const app = await createApp(config, { logger: false });
      apps.push(app);
      urls.push(await app.listen());
    }
    token = (await apps[0]!.store.tokens.create({ kind: 'operator', role: 'admin', name: 'cluster-test' }, Date.now())).token;
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await counter?.close();
    await admin?.end();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('shares a rollout between the servers, never delivering to a device twice at once, and steps phases once', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `push-${String(i).padStart(4, '0')}`);
    await apps[0]!.store.devices.upsertMany(ids.map((id) => device(id, { mode: 'http', address: counter.addressOf(id), tags: { group: 'push' } })), Date.now());
    const { artifact } = await apps[1]!.artifacts.upload(Readable.from([randomBytes(32 * 1024)]), { name: 'cluster-fw', version: '2.0.0' }, 'test');
    const created = await call(0, 'POST', '/api/v1/rollouts', { artifactId: artifact.id, filter: { tag: 'group:push' }, strategy: 'progressive', phases: [{ percent: 20, successThreshold: 100 }, { percent: 100, successThreshold: 100 }] });
    expect(created.status).toBe(201);
    const rolloutId = created.json.id as string;

    // Which engines hold leases while it runs (each server has its own engine owner id).
    const owners = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ lease_owner: string }>('SELECT DISTINCT lease_owner FROM executions WHERE lease_owner IS NOT NULL');
        for (const r of rows) owners.add(r.lease_owner);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await counter.untilInstalled(ids.length);
    const done = await until(() => call(2, 'GET', `/api/v1/rollouts/${rolloutId}`), (r) => r.json.status !== 'running', 'the rollout to finish');
    sampling = false;
    await sampler;

    expect(done.json.status).toBe('completed');
    expect(counter.overlaps).toEqual([]);
    expect(counter.corrupt).toEqual([]);
    expect(counter.installs.size).toBe(ids.length);
    expect([...counter.installs.values()].every((n) => n === 1)).toBe(true);
    expect(owners.size).toBeGreaterThanOrEqual(2);
    const count = async (type: string) => Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE rollout_id = $1 AND type = $2', [rolloutId, type])).rows[0]!.n);
    const terminal = await admin.query<{ device_id: string; n: string }>("SELECT device_id, count(*) AS n FROM events WHERE rollout_id = $1 AND type IN ('execution.succeeded', 'execution.failed', 'execution.cancelled') GROUP BY device_id", [rolloutId]);
    expect(terminal.rows).toHaveLength(ids.length);
    expect(terminal.rows.every((r) => Number(r.n) === 1)).toBe(true);
    expect(await count('rollout.phase-reached')).toBe(1);
    expect(await count('rollout.phase-advanced')).toBe(1);
    expect(await count('rollout.completed')).toBe(1);
  });

  it('a target change made through server A reaches a device polling server B', async () => {
    await apps[0]!.store.devices.upsertMany([device('pull-1', { tags: { group: 'pull' } })], Date.now());
    const deviceToken = (await apps[0]!.enrollment.issueToken('pull-1', 'test')).token;
    const poll = (etag: string | null) => fetch(`${urls[1]}/api/v1/device/pull-1/state`, { headers: { authorization: `Bearer ${deviceToken}`, ...(etag ? { 'if-none-match': etag } : {}) } });
    const first = await poll(null);
    expect(first.status).toBe(200);
    const before = first.headers.get('etag')!;
    expect(((await first.json()) as { update: unknown }).update).toBeNull();
    expect((await poll(before)).status).toBe(304);

    const { artifact } = await apps[0]!.artifacts.upload(Readable.from([randomBytes(4096)]), { name: 'pull-fw', version: '3.0.0' }, 'test');
    const created = await call(0, 'POST', '/api/v1/rollouts', { artifactId: artifact.id, filter: { ids: ['pull-1'] } });
    expect(created.status).toBe(201);
    const targeted = await until(async () => {
      const r = await poll(before);
      return { status: r.status, etag: r.headers.get('etag'), body: r.status === 200 ? ((await r.json()) as { update: { version: string } | null }) : null };
    }, (r) => r.status === 200 && r.body?.update !== null, 'server B to serve the new target');
    expect(targeted.etag).not.toBe(before);
    expect(targeted.body!.update!.version).toBe('3.0.0');

    // Cancelled through A: only A's service acts, so B learns it from the database notification.
    expect((await call(0, 'POST', `/api/v1/rollouts/${created.json.id as string}/cancel`)).status).toBeLessThan(300);
    const cleared = await until(async () => {
      const r = await poll(targeted.etag);
      return { status: r.status, body: r.status === 200 ? ((await r.json()) as { update: unknown }) : null };
    }, (r) => r.status === 200 && r.body?.update === null, 'server B to drop the cancelled target');
    expect(cleared.body!.update).toBeNull();

    // Deleted through A: B stops serving it (its caches follow the cluster's event feed).
    expect((await call(0, 'DELETE', '/api/v1/devices/pull-1')).status).toBeLessThan(300);
    await until(() => poll(null).then((r) => r.status), (status) => status === 401 || status === 404, 'server B to stop serving a deleted device', 5_000);
  });

  it('server B keeps following target changes after its LISTEN connections are cut', async () => {
    await apps[0]!.store.devices.upsertMany([device('pull-2')], Date.now());
    const deviceToken = (await apps[0]!.enrollment.issueToken('pull-2', 'test')).token;
    const poll = async () => {
      const r = await fetch(`${urls[1]}/api/v1/device/pull-2/state`, { headers: { authorization: `Bearer ${deviceToken}` } });
      return (await r.json()) as { update: { version: string } | null };
    };
    const { artifact } = await apps[0]!.artifacts.upload(Readable.from([randomBytes(4096)]), { name: 'pull-fw-2', version: '4.0.0' }, 'test');
    const created = await call(0, 'POST', '/api/v1/rollouts', { artifactId: artifact.id, filter: { ids: ['pull-2'] } });
    await until(poll, (s) => s.update?.version === '4.0.0', 'server B to serve the target');

    // The database drops every LISTEN connection (a restart, a network cut, an idle timeout).
    const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'");
    expect(cut.rowCount).toBeGreaterThanOrEqual(3);
    expect((await call(0, 'POST', `/api/v1/rollouts/${created.json.id as string}/cancel`)).status).toBeLessThan(300);
    await until(poll, (s) => s.update === null, 'server B to drop the target cancelled through A', 10_000);
  });

  it('a WebSocket client of server B sees events appended through server A', async () => {
    const client = await connectWs(urls[1]!, { token });
    await client.waitFor((m) => m.type === 'hello');
    expect((await call(0, 'POST', '/api/v1/devices', { id: 'ws-seen', mode: 'pull' })).status).toBe(201);
    const batch = await client.waitFor((m) => m.type === 'events' && (m.events as { deviceId: string | null }[]).some((e) => e.deviceId === 'ws-seen'), 'the device.created event from server A');
    expect((batch.events as { type: string; deviceId: string }[]).find((e) => e.deviceId === 'ws-seen')!.type).toBe('device.created');
    await client.close();
  });

  it('reports a device coming back online once when two servers record its heartbeats at the same moment', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `back-${i}`);
    await apps[0]!.store.devices.upsertMany(ids.map((id) => device(id, { status: 'offline' })), Date.now());
    for (let round = 0; round < 3; round++) {
      await admin.query("UPDATE devices SET status = 'offline' WHERE id LIKE 'back-%'");
      const now = Date.now();
      const [a, b, c] = await Promise.all(apps.map((app) => app.store.deviceReports.touchMany(ids, now)));
      expect([...a!, ...b!, ...c!].sort()).toEqual([...ids].sort());
    }
  });

  it('runs the offline sweep once: one device.offline event per device, not one per server', async () => {
    const stale = new Date(Date.now() - 3_600_000).toISOString();
    const batch = (prefix: string) => Array.from({ length: 40 }, (_, i) => device(`${prefix}-${i}`, { status: 'online', lastSeen: stale }));
    const offline = (prefix: string) => admin.query<{ n: string }>("SELECT count(*) AS n FROM devices WHERE id LIKE $1 AND status = 'offline'", [`${prefix}-%`]).then((r) => Number(r.rows[0]!.n));
    await apps[2]!.store.devices.upsertMany(batch('quiet-a'), Date.now());
    await until(() => offline('quiet-a'), (n) => n === 40, 'the first batch to be marked offline');
    // A second batch going offline later proves the sweeps kept running meanwhile, on every server.
    await apps[2]!.store.devices.upsertMany(batch('quiet-b'), Date.now());
    await until(() => offline('quiet-b'), (n) => n === 40, 'the second batch to be marked offline');
    const events = await admin.query<{ device_id: string; n: string }>("SELECT device_id, count(*) AS n FROM events WHERE type = 'device.offline' AND (device_id LIKE 'quiet-a-%' OR device_id LIKE 'quiet-b-%') GROUP BY device_id");
    expect(events.rows).toHaveLength(80);
    expect(events.rows.every((r) => Number(r.n) === 1)).toBe(true);
  });
});
