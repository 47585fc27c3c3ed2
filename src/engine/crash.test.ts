// Crash safety: `orchestrator serve` is killed with SIGKILL at random moments of a rollout over
// 2,000 HTTP devices and restarted each time. Afterwards the rollout has completed, every device
// installed the artifact exactly once (counted by the receiver, which answers 208 to repeats) and
// the event log holds exactly one terminal event per device. Uses the built CLI (npm run build).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from './testing.js';
import { startCountingReceiver, type CountingReceiver } from './testing-receiver.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');
const DEVICES = 2000;
const KILLS = 10;

interface Server {
  child: ChildProcess;
  url: string;
}

function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Short leases so a killed server's deliveries are reclaimed within seconds.
    env: { ...process.env, ORCHESTRATOR_LOG_LEVEL: 'error', ORCHESTRATOR_ENGINE_LEASE_MS: '1500', ORCHESTRATOR_CONCURRENCY: '24', ORCHESTRATOR_DATABASE_URL: '' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err.slice(-2000)}`)));
  });
}

function kill(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

describe('crash safety of rollouts', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-crash-'));
  let receiver: CountingReceiver;
  let server: Server | null = null;
  let token = '';
  const call = async <T>(method: string, urlPath: string, body?: unknown, raw?: { text: string; type: string }): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined || raw) headers['content-type'] = raw?.type ?? 'application/json';
    const response = await fetch(server!.url + urlPath, { method, headers, body: raw?.text ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };

  beforeAll(async () => {
    // Each install takes 40 ms and at most 8 run at once: the rollout lasts long enough to be killed often.
    receiver = await startCountingReceiver({ delayMs: 40 });
  });
  afterAll(async () => {
    if (server) await kill(server);
    await receiver?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes the rollout with every device updated exactly once despite repeated kill -9', async () => {
    server = await startServer(dataDir);
    token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    const ndjson = Array.from({ length: DEVICES }, (_, i) => JSON.stringify({ id: `pos-${String(i).padStart(4, '0')}`, mode: 'http', status: 'online', address: `${receiver.url}/update` })).join('\n');
    expect((await call<{ created: number }>('POST', '/api/v1/devices/import?format=ndjson', undefined, { text: ndjson, type: 'application/x-ndjson' })).created).toBe(DEVICES);
    const artifact = await call<{ id: string }>('POST', '/api/v1/artifacts?name=pos-fw&version=9.9.9', undefined, { text: 'x'.repeat(4096), type: 'application/octet-stream' });
    const rollout = await call<{ id: string }>('POST', '/api/v1/rollouts', { artifactId: artifact.id, maxConcurrency: 8, retry: { maxAttempts: 20, backoffSeconds: 0.2, maxBackoffSeconds: 1 } });

    const random = seededRandom(7);
    let kills = 0;
    while (kills < KILLS) {
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(random() * 600)));
      const status = await call<{ status: string }>('GET', `/api/v1/rollouts/${rollout.id}`);
      expect(status.status).toBe('running');
      await kill(server);
      kills++;
      server = await startServer(dataDir);
    }
    let final: { status: string; counts: Record<string, number> } | null = null;
    for (let i = 0; i < 600; i++) {
      final = await call<{ status: string; counts: Record<string, number> }>('GET', `/api/v1/rollouts/${rollout.id}`);
      if (final.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(final).toMatchObject({ status: 'completed', counts: { succeeded: DEVICES } });
    expect(receiver.installs.size).toBe(DEVICES);
    expect([...receiver.installs.values()].every((n) => n === 1)).toBe(true);

    const terminal = new Map<string, number>();
    let afterId = 0;
    for (;;) {
      const page = await call<{ items: { id: number; deviceId: string; type: string }[] }>('GET', `/api/v1/events?rolloutId=${rollout.id}&type=execution.succeeded,execution.failed,execution.cancelled,execution.skipped,execution.rolled-back&afterId=${afterId}&limit=1000`);
      for (const e of page.items) terminal.set(e.deviceId, (terminal.get(e.deviceId) ?? 0) + 1);
      if (page.items.length < 1000) break;
      afterId = page.items.at(-1)!.id;
    }
    expect(terminal.size).toBe(DEVICES);
    expect([...terminal.values()].every((n) => n === 1)).toBe(true);
  }, 300_000);
});
