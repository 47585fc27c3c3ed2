// Crash safety: `orchestrator serve` is killed with SIGKILL ten times during a rollout over 2,000
// HTTP devices, each time the devices have counted another eleventh of the installs (so every kill
// lands mid-rollout with deliveries in flight), and restarted. Afterwards the rollout has completed,
// every device installed the artifact exactly once (counted by the devices, which answer 208 to
// repeats) and the event log holds exactly one terminal event per device. Uses the built CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstallCounter, type InstallCounter } from '../chaos/install-counter.js';
import { spawnServer, type ServerProcess } from '../chaos/server-process.js';
import { connectWs } from '../testing/ws-client.js';

const DEVICES = 2000;
const KILLS = 10;
const TERMINAL = ['execution.succeeded', 'execution.failed', 'execution.cancelled', 'execution.skipped', 'execution.rolled-back'];

describe('crash safety of rollouts', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-crash-'));
  let counter: InstallCounter;
  let server: ServerProcess | null = null;
  let token = '';
  // Short leases so a killed server's deliveries are reclaimed within seconds.
  const start = () => spawnServer({ dataDir, env: { ORCHESTRATOR_LOG_LEVEL: 'error', ORCHESTRATOR_ENGINE_LEASE_MS: '1500', ORCHESTRATOR_CONCURRENCY: '24' } });
  const call = async <T>(method: string, urlPath: string, body?: unknown, raw?: { text: string; type: string }): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined || raw) headers['content-type'] = raw?.type ?? 'application/json';
    const response = await fetch(server!.url + urlPath, { method, headers, body: raw?.text ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };

  beforeAll(async () => {
    // Each device holds its answer 40 ms and at most 8 deliveries run at once, so a kill always
    // finds deliveries in flight whose answers the killed server never records.
    counter = await startInstallCounter({ holdMs: 40 });
  });
  afterAll(async () => {
    await server?.kill();
    await counter?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes the rollout with every device updated exactly once despite repeated kill -9', async () => {
    server = await start();
    token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    const ndjson = Array.from({ length: DEVICES }, (_, i) => {
      const id = `pos-${String(i).padStart(4, '0')}`;
      return JSON.stringify({ id, mode: 'http', status: 'online', address: counter.addressOf(id) });
    }).join('\n');
    expect((await call<{ created: number }>('POST', '/api/v1/devices/import?format=ndjson', undefined, { text: ndjson, type: 'application/x-ndjson' })).created).toBe(DEVICES);
    const artifact = await call<{ id: string }>('POST', '/api/v1/artifacts?name=pos-fw&version=9.9.9', undefined, { text: 'x'.repeat(4096), type: 'application/octet-stream' });
    const rollout = await call<{ id: string }>('POST', '/api/v1/rollouts', { artifactId: artifact.id, maxConcurrency: 8, retry: { maxAttempts: 20, backoffSeconds: 0.2, maxBackoffSeconds: 1 } });

    const killedAt: number[] = [];
    for (let k = 1; k <= KILLS; k++) {
      await counter.untilInstalled(Math.floor((DEVICES * k) / (KILLS + 1)));
      await server.kill();
      killedAt.push(counter.installs.size);
      server = await start();
    }
    // Every kill came before the last install: none of them hit a finished rollout.
    expect(killedAt).toHaveLength(KILLS);
    expect(Math.max(...killedAt)).toBeLessThan(DEVICES);

    // The end, from the event log (replayed from the start, then live): no polling.
    await counter.untilInstalled(DEVICES);
    const feed = await connectWs(server.url, { token, query: { rolloutId: rollout.id, types: 'rollout.*', lastEventId: '0' } });
    const end = await feed.waitFor((m) => m.type === 'events' && (m.events as { type: string }[]).some((e) => /^rollout\.(completed|failed|paused|cancelled)$/.test(e.type)), 'the end of the rollout');
    await feed.close();
    expect((end.events as { type: string }[]).map((e) => e.type)).toContain('rollout.completed');
    expect(await call<{ status: string; counts: Record<string, number> }>('GET', `/api/v1/rollouts/${rollout.id}`)).toMatchObject({ status: 'completed', counts: { succeeded: DEVICES } });

    expect(counter.installs.size).toBe(DEVICES);
    expect([...counter.installs.values()].every((n) => n === 1)).toBe(true);
    expect(counter.corrupt).toEqual([]);
    expect(counter.overlaps).toEqual([]);
    // Kills with deliveries in flight made some devices see a delivery again (answered 208).
    expect([...counter.attempts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(DEVICES);

    const terminal = new Map<string, number>();
    let afterId = 0;
    for (;;) {
      const page = await call<{ items: { id: number; deviceId: string; type: string }[] }>('GET', `/api/v1/events?rolloutId=${rollout.id}&type=${TERMINAL.join(',')}&afterId=${afterId}&limit=1000`);
      for (const e of page.items) terminal.set(e.deviceId, (terminal.get(e.deviceId) ?? 0) + 1);
      if (page.items.length < 1000) break;
      afterId = page.items.at(-1)!.id;
    }
    expect(terminal.size).toBe(DEVICES);
    expect([...terminal.values()].every((n) => n === 1)).toBe(true);
  }, 300_000);
});
