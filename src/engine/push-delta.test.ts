// Delta pushes end to end: rollouts through the engine and the HTTP transport to a real push
// receiver (`agent --listen`), whose TCP sockets count every byte that reached the device. The
// second release sends only the chunks the receiver lacks; a receiver without deltas gets it whole.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../agent/receiver.js';
import type { Execution } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { deltaCase } from '../testing/delta-fixtures.js';
import { nextEvent } from '../testing/engine.js';

interface CountedReceiver {
  dir: string;
  url: string;
  /** Bytes the receiver's sockets read so far (requests, headers included). */
  bytesRead(): number;
  close(): Promise<void>;
}

async function countedReceiver(options: { deltas?: boolean } = {}): Promise<CountedReceiver> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-push-delta-'));
  const receiver = new Receiver({ dir, ...options });
  const sockets: Socket[] = [];
  const server = http.createServer(receiver.handle);
  server.on('connection', (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    dir,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    bytesRead: () => sockets.reduce((n, s) => n + s.bytesRead, 0),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        fs.rmSync(dir, { recursive: true, force: true });
      }),
  };
}

describe('delta pushes to the push receiver', () => {
  let t: TestApp;
  const tar = deltaCase('tar-one-file', 8 * 1024 * 1024);
  const receivers: CountedReceiver[] = [];
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    for (const r of receivers) await r.close();
  });

  const upload = async (bytes: Buffer, version: string) => (await t.app.artifacts.upload(Readable.from([bytes]), { name: 'rack-fw', version }, 'test')).artifact;
  const rollout = async (artifactId: string, deviceId: string): Promise<Execution> => {
    const created = await t.request('POST', '/api/v1/rollouts', { body: { artifactId, filter: { ids: [deviceId] } } });
    expect(created.status, created.text).toBe(201);
    const id = (created.json() as { id: string }).id;
    const done = nextEvent(t.app.events, (e) => e.rolloutId === id && /^rollout\.(completed|failed|paused)$/.test(e.type));
    expect((await done).type).toBe('rollout.completed');
    return ((await t.request('GET', `/api/v1/rollouts/${id}/devices`)).json() as { items: Execution[] }).items[0]!;
  };
  const device = async (id: string, options: { deltas?: boolean } = {}) => {
    const receiver = await countedReceiver(options);
    receivers.push(receiver);
    expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: receiver.url, status: 'online' } })).status).toBe(201);
    return receiver;
  };
  const installed = (dir: string) => fs.readFileSync(path.join(dir, 'current'));

  it('sends only the chunks the receiver lacks', async () => {
    const receiver = await device('rack-1');
    const v1 = await upload(tar.v1, '1');
    const first = await rollout(v1.id, 'rack-1');
    // Nothing held yet: the receiver asks for the whole file (after reading the index).
    expect(first).toMatchObject({ state: 'succeeded', bytesReused: 0 });
    expect(first.bytesFetched).toBeGreaterThanOrEqual(tar.v1.length);
    expect(installed(receiver.dir).equals(tar.v1)).toBe(true);

    const v2 = await upload(tar.v2, '2');
    const before = receiver.bytesRead();
    const second = await rollout(v2.id, 'rack-1');
    const arrived = receiver.bytesRead() - before;
    expect(second.state).toBe('succeeded');
    expect(installed(receiver.dir).equals(tar.v2)).toBe(true);
    expect(createHash('sha256').update(installed(receiver.dir)).digest('hex')).toBe(v2.sha256);
    expect(second.bytesFetched).toBeLessThanOrEqual(0.15 * tar.v2.length);
    expect(second.bytesReused).toBeGreaterThan(0.8 * tar.v2.length);
    expect(second.bytesFetched! + second.bytesReused!).toBeGreaterThanOrEqual(tar.v2.length);
    // What reached the device over TCP: the index, the missing ranges and a few request headers.
    expect(arrived).toBeGreaterThanOrEqual(second.bytesFetched!);
    expect(arrived).toBeLessThan(second.bytesFetched! + 8 * 1024);
  });

  it('pushes whole to a receiver that takes no deltas', async () => {
    const receiver = await device('rack-2', { deltas: false });
    const v1 = await upload(tar.v1, '1');
    await rollout(v1.id, 'rack-2');
    const v2 = await upload(tar.v2, '2');
    const before = receiver.bytesRead();
    const second = await rollout(v2.id, 'rack-2');
    expect(second).toMatchObject({ state: 'succeeded', bytesFetched: tar.v2.length, bytesReused: 0 });
    expect(receiver.bytesRead() - before).toBeGreaterThanOrEqual(tar.v2.length);
    expect(installed(receiver.dir).equals(tar.v2)).toBe(true);
  });
});
