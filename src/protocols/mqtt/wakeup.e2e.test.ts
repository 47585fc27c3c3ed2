// Wake-up end to end: the server publishes devices/{id}/wakeup when a rollout targets the device,
// and the real agent process (`orchestrator agent --mqtt`), told to poll only hourly, polls at
// once and installs. Against the machine's Mosquitto (127.0.0.1:1883).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../../testing/engine.js';
import { builtCliMissing, MQTT_URL as BROKER, mqttBrokerMissing, requirePeer } from '../../testing/peers.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/cli/main.js');

describe('wake-up over MQTT (server and agent)', async () => {
  const skip = requirePeer('Mosquitto', await mqttBrokerMissing(BROKER)) ?? requirePeer('the built CLI', builtCliMissing());
  let e: EngineApp;
  let agent: ChildProcess | undefined;
  let dir: string;
  beforeAll(async () => {
    if (skip) return;
    e = await startAppWithEngine({ mqttUrl: BROKER, pollIntervalSeconds: 3600 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-wakeup-'));
  });
  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent!.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    await e?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip !== null)('an hourly-polling agent installs a new rollout at once when woken', async () => {
    const id = `wake-${process.pid}`;
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id, name: id, mode: 'pull', tags: { ring: 'wake' } } })).status).toBe(201);
    const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
    agent = spawn(process.execPath, [MAIN, 'agent', '--server', e.t.url, '--device', id, '--token', token, '--dir', path.join(dir, 'agent'), '--mqtt', BROKER], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const subscribed = new Promise<void>((resolve, reject) => {
      agent!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(`wake-up: subscribed to devices/${id}/wakeup`)) resolve();
      });
      agent!.once('exit', (code) => reject(new Error(`agent exited (${code}): ${stderr}`)));
    });
    await subscribed;
    // The agent's first poll happened at start; with a one-hour interval only a wake-up brings it back.
    const upload = await e.t.request('POST', '/api/v1/artifacts?name=app&version=9.0.0', { raw: 'new application build\n', headers: { 'content-type': 'application/octet-stream' } });
    const artifactId = (upload.json() as { id: string }).id;
    const succeeded = nextEvent(e.t.app.events, (ev) => ev.deviceId === id && ev.type === 'execution.succeeded', 60_000);
    await e.rollouts.create({ artifactId, filter: { tag: 'ring:wake' } }, 'token:test');
    await succeeded;
    expect(fs.readlinkSync(path.join(dir, 'agent', 'current'))).toBeTruthy();
  }, 90_000);
});
