// Push rollouts end to end with the real pieces: the server's HTTP transport and the device side's
// push receiver (src/agent/receiver.ts), one per device, installing into its own directory; and
// one retry layer: a device that keeps failing is asked exactly as often as the rollout's policy says.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../agent/receiver.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { nextEvent } from '../testing/engine.js';

describe('push rollouts to real receivers', () => {
  let t: TestApp;
  const receivers: { id: string; dir: string; running: RunningReceiver }[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    for (const id of ['shelf-1', 'shelf-2', 'shelf-3']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `uo-${id}-`));
      const running = await startReceiver({ dir, port: 0, host: '127.0.0.1', deviceId: id });
      receivers.push({ id, dir, running });
      expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: running.url, status: 'online', version: '1.0.0' } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
    for (const r of receivers) {
      await r.running.close();
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });

  const upload = async (version: string) => {
    const answer = await t.request('POST', `/api/v1/artifacts?name=shelf-fw&version=${version}`, { headers: { 'content-type': 'application/octet-stream' }, raw: `shelf firmware ${version}` });
    expect(answer.status).toBe(201);
    return (answer.json() as { id: string }).id;
  };
  const rollout = async (body: Record<string, unknown>) => {
    const created = await t.request('POST', '/api/v1/rollouts', { body });
    expect(created.status).toBe(201);
    const id = (created.json() as { id: string }).id;
    const event = await nextEvent(t.app.events, (e) => e.rolloutId === id && /^rollout\.(completed|failed|paused)$/.test(e.type));
    expect(event.type).toBe('rollout.completed');
    return id;
  };
  const current = () => receivers.map((r) => fs.readFileSync(path.join(r.dir, 'current'), 'utf8'));

  it('installs on every device, treats a repeat as already installed, and rolls back to the previous artifact', async () => {
    const v2 = await upload('2.0.0');
    const v3 = await upload('3.0.0');
    await rollout({ artifactId: v2 });
    expect(current()).toEqual(Array(3).fill('shelf firmware 2.0.0'));
    // The same artifact again: every receiver answers 208, which counts as success.
    const again = await rollout({ artifactId: v2 });
    expect(((await t.request('GET', `/api/v1/rollouts/${again}`)).json() as { counts: Record<string, number> }).counts).toEqual({ succeeded: 3 });

    const upgrade = await rollout({ artifactId: v3, strategy: 'progressive', phases: [{ count: 1 }, { percent: 100 }] });
    expect(current()).toEqual(Array(3).fill('shelf firmware 3.0.0'));
    const known = new Set([again, upgrade]);
    const rolledBack = nextEvent(t.app.events, (e) => e.type === 'rollout.completed' && !known.has(e.rolloutId!));
    const back = await t.request('POST', `/api/v1/rollouts/${upgrade}/rollback`, { token: t.tokens.operator });
    expect(back.status).toBe(200);
    const { rollbacks } = back.json() as { rollbacks: { id: string; artifactId: string }[] };
    expect(rollbacks.map((r) => r.artifactId)).toEqual([v2]);
    expect((await rolledBack).rolloutId).toBe(rollbacks[0]!.id);
    expect(current()).toEqual(Array(3).fill('shelf firmware 2.0.0'));
    expect(((await t.request('GET', `/api/v1/rollouts/${upgrade}`)).json() as { status: string }).status).toBe('rolled-back');
  });

  it("asks a failing device once per engine attempt: the rollout's retry policy is the only retry", async () => {
    // Pushes only: the transport also asks once (OPTIONS) whether the device takes deltas.
    let pushes = 0;
    const busy = http.createServer((req, res) => {
      if (req.method === 'POST') pushes++;
      req.resume();
      req.on('end', () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"busy installing something else"}}'));
    });
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(busy.address() as AddressInfo).port}/push`;
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'busy-1', mode: 'http', address: url, status: 'online', version: '1.0.0', tags: { ring: 'busy' } } })).status).toBe(201);
      const artifactId = await upload('4.0.0');
      const created = await t.request('POST', '/api/v1/rollouts', { body: { artifactId, filter: { tag: 'ring=busy' }, retry: { maxAttempts: 3, backoffSeconds: 0, maxBackoffSeconds: 0 } } });
      expect(created.status).toBe(201);
      const rolloutId = (created.json() as { id: string }).id;
      const failed = await nextEvent(t.app.events, (e) => e.rolloutId === rolloutId && e.type === 'execution.failed');
      expect(pushes).toBe(3);
      const executions = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices`)).json() as { items: { deviceId: string; attempts: number; error: string }[] };
      expect(executions.items).toEqual([expect.objectContaining({ deviceId: 'busy-1', attempts: 3, error: expect.stringMatching(/503: busy installing/) })]);
      expect(failed.deviceId).toBe('busy-1');
    } finally {
      busy.closeAllConnections();
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
