// The light fleet against a real server: devices with bulk-issued tokens poll with their ETags
// (304 while nothing changes), pick up an image rollout, report it and the rollout completes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { fleetDeviceId, LightFleet } from './light-fleet.js';

const DEVICES = 40;

describe('light fleet', () => {
  let t: TestApp;
  let fleet: LightFleet;
  const events: EventRecord[] = [];
  const waiters: { done: () => boolean; resolve: () => void }[] = [];
  /** Resolves once `done` holds, checked after every batch of events the server appends. */
  const until = (done: () => boolean) => new Promise<void>((resolve) => (done() ? resolve() : waiters.push({ done, resolve })));

  beforeAll(async () => {
    t = await startTestApp({ config: { pollIntervalSeconds: 1 } });
    t.app.events.subscribe((records) => {
      events.push(...records);
      for (const w of waiters.splice(0)) {
        if (w.done()) w.resolve();
        else waiters.push(w);
      }
    });
    const ids = Array.from({ length: DEVICES }, (_, i) => fleetDeviceId('lf-', i));
    const csv = `id,mode\n${ids.map((id) => `${id},pull`).join('\n')}\n`;
    expect((await t.request('POST', '/api/v1/devices/import?format=csv', { raw: csv, headers: { 'content-type': 'text/csv' } })).status).toBe(200);
    const tokens = await t.app.store.tokens.createDeviceTokens(ids, Date.now());
    const bytes = Buffer.concat(tokens.map((token) => Buffer.from(token.slice('uo_dev_'.length), 'base64url')));
    fleet = new LightFleet({ url: t.url, devices: DEVICES, idOf: (i) => fleetDeviceId('lf-', i), tokens: bytes, intervalMs: 150, jitter: 0.2, connections: 4 });
  });
  afterAll(async () => {
    await fleet.stop();
    await t.close();
  });

  it('polls with ETags, takes an image rollout through every device and reports it', async () => {
    fleet.start();
    const online = () => new Set(events.filter((e) => e.type === 'device.online').map((e) => e.deviceId)).size === DEVICES;
    await until(online);
    const artifact = (await t.request('POST', '/api/v1/artifacts', { body: { name: 'app', version: '2.0.0', imageRef: 'registry.example/app:2.0.0' } })).json() as { id: string };
    const rollout = (await t.request('POST', '/api/v1/rollouts', { body: { artifactId: artifact.id, strategy: 'progressive', phases: [{ percent: 10 }, { percent: 100 }] } })).json() as { id: string };
    await until(() => events.some((e) => e.type === 'rollout.completed' && e.rolloutId === rollout.id));
    const stats = fleet.stats();
    expect(stats.errors).toBe(0);
    expect(stats.polled).toBe(DEVICES);
    expect(stats.reports).toBe(DEVICES);
    // Each device: its first poll and the poll that brought the update answered 200; the polls between, 304.
    expect(stats.changed).toBeGreaterThanOrEqual(2 * DEVICES);
    expect(stats.notModified).toBeGreaterThan(0);
    expect(stats.polls).toBe(stats.changed + stats.notModified);
    const status = (await t.request('GET', `/api/v1/rollouts/${rollout.id}`)).json() as { status: string; counts: Record<string, number> };
    expect(status).toMatchObject({ status: 'completed', counts: { succeeded: DEVICES } });
    expect((await t.app.store.devices.get(fleetDeviceId('lf-', 7)))?.version).toBe('2.0.0');
  });
});

describe('light fleet over several servers', () => {
  it('keeps device i on server i mod n', async () => {
    const seen: Set<string>[] = [new Set(), new Set()];
    let allPolled: () => void = () => {};
    const done = new Promise<void>((resolve) => (allPolled = resolve));
    const servers = seen.map((ids) =>
      http.createServer((req, res) => {
        ids.add(decodeURIComponent(/^\/api\/v1\/device\/([^/]+)\/state$/.exec(req.url ?? '')?.[1] ?? '?'));
        res.writeHead(304).end();
        if (new Set([...seen[0]!, ...seen[1]!]).size >= 6) allPolled();
      }),
    );
    const urls = await Promise.all(servers.map((server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))));
    const fleet = new LightFleet({ url: urls, devices: 6, idOf: (i) => `d${i}`, tokens: new Uint8Array(6 * 32), intervalMs: 50, jitter: 0.1, connections: 2 });
    try {
      fleet.start();
      await done;
    } finally {
      await fleet.stop();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
    expect([...seen[0]!].sort()).toEqual(['d0', 'd2', 'd4']);
    expect([...seen[1]!].sort()).toEqual(['d1', 'd3', 'd5']);
    expect(fleet.stats().errors).toBe(0);
  });
});
