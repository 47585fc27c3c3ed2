// Download ahead, install in the window, with the real server, its engine on a manual clock and
// real agents: every device downloads and verifies before the window opens and reports
// `downloaded` (the rollout counts them, waiting for the window); nothing is installed; when the
// clock reaches the window the target's ETag changes, an MQTT wake-up reaches the device, and the
// agents install. A cancelled download-ahead rollout's ready devices install nothing.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { nextEvent } from '../testing/engine.js';
import { MqttWakeupSubscriber } from '../protocols/mqtt/wakeup.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { MQTT_URL, mqttBrokerMissing, requirePeer } from '../testing/peers.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';
import type { Agent } from './agent.js';
import { createDeviceAgent } from './device-agent.js';
import { silentLog } from './log.js';

interface RolloutJson {
  id: string;
  status: string;
  counts: Record<string, number>;
  waiting: string | null;
  waitingUntil: string | null;
  progress: { downloaded: number; succeeded: number; total: number };
}

describe('download ahead, install in the window (real server and agents)', async () => {
  const skip = requirePeer('Mosquitto', await mqttBrokerMissing(MQTT_URL));
  // 03:00 UTC; the window opens at 03:30 UTC.
  const clock = new ManualClock(Date.parse('2026-03-02T03:00:00Z'));
  let e: EngineApp;
  const dirs: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    if (skip) return;
    e = await startAppWithEngine({ mqttUrl: MQTT_URL, pollIntervalSeconds: 3600 }, clock);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await e?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function device(id: string): Promise<{ agent: Agent; dir: string; token: string }> {
    const token = await addPullDevice(e.t.app, id);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-ahead-'));
    dirs.push(dir);
    const agent = createDeviceAgent({ server: e.t.url, deviceId: id, token, dir }, silentLog);
    await agent.init();
    return { agent, dir, token };
  }
  const rollout = async (id: string) => (await e.t.request('GET', `/api/v1/rollouts/${id}`)).json() as RolloutJson;
  const state = (id: string, token: string, etag?: string) => e.t.request('GET', `/api/v1/device/${id}/state`, { token, headers: etag ? { 'if-none-match': etag } : {} });

  it.skipIf(skip !== null)('downloads on every device before the window, installs only once it opens, with a new ETag and a wake-up', async () => {
    const ids = ['ahead-1', 'ahead-2', 'ahead-3'];
    const devices = await Promise.all(ids.map((id) => device(id)));
    const bytes = randomBytes(256 * 1024);
    const artifact = await uploadArtifact(e.t.app, bytes, { name: 'firmware', version: '3.0.0' });
    const released = Promise.all(ids.map((id) => nextEvent(e.t.app.events, (ev) => ev.deviceId === id && ev.type === 'execution.queued')));
    const created = await e.t.request('POST', '/api/v1/rollouts', { token: e.t.tokens.operator, body: { artifactId: artifact.id, filter: { ids }, window: { daily: '03:30-05:00', timezone: 'UTC' }, downloadAhead: true } });
    expect(created.status).toBe(201);
    const id = (created.json() as RolloutJson).id;
    // Released at once although the window is closed.
    await released;

    const before = await state('ahead-1', devices[0]!.token);
    expect(before.json()).toMatchObject({ update: { action: 'download', installAfter: '2026-03-02T03:30:00.000Z' } });
    const etag = before.headers.get('etag')!;

    for (const d of devices) await d.agent.round();
    for (const d of devices) {
      expect(d.agent.current.job).toMatchObject({ phase: 'ready', outcome: null });
      expect(d.agent.current.current).toBeNull();
      expect(fs.existsSync(path.join(d.dir, 'current'))).toBe(false);
    }
    // Another round while closed changes nothing: the agent keeps what it downloaded.
    await devices[0]!.agent.round();
    expect(devices[0]!.agent.current.job?.phase).toBe('ready');
    expect(await rollout(id)).toMatchObject({ status: 'running', counts: { downloaded: 3 }, progress: { downloaded: 3, succeeded: 0, total: 3 }, waiting: 'window', waitingUntil: '2026-03-02T03:30:00.000Z' });
    expect((await state('ahead-1', devices[0]!.token, etag)).status).toBe(304);

    // The window opens: the engine tells the devices (ETag and wake-up) without waiting for a poll.
    let woken!: () => void;
    const wakeup = new Promise<void>((resolve) => (woken = resolve));
    const subscriber = new MqttWakeupSubscriber(MQTT_URL, 'ahead-1', () => woken(), { warn: () => undefined });
    closers.push(() => subscriber.close());
    await subscriber.ready();
    const opened = nextEvent(e.t.app.events, (ev) => ev.rolloutId === id && ev.type === 'rollout.window-opened');
    clock.set(Date.parse('2026-03-02T03:31:00Z'));
    expect((await opened).data).toMatchObject({ timezone: 'UTC', devices: 3 });
    await wakeup;
    const after = await state('ahead-1', devices[0]!.token, etag);
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(after.json()).toMatchObject({ update: { action: 'install', installAfter: null } });

    const completed = nextEvent(e.t.app.events, (ev) => ev.rolloutId === id && ev.type === 'rollout.completed');
    for (const d of devices) await d.agent.round();
    // The engine's periodic jobs (which complete the rollout) run by the manual clock.
    clock.advance(1000);
    await completed;
    for (const d of devices) expect(fs.readFileSync(path.join(d.dir, 'current')).equals(bytes)).toBe(true);
    expect(await rollout(id)).toMatchObject({ status: 'completed', counts: { succeeded: 3 }, progress: { downloaded: 0, succeeded: 3 } });
    // Each device was ready (downloaded) before the window and finished inside it (the agent's
    // undelivered reports of one execution coalesce, so the next one it sends is succeeded).
    const ready = await e.t.app.store.events.list({ rolloutId: id, type: ['execution.downloaded'], limit: 10, afterId: 0 });
    expect(ready.map((ev) => ev.ts < '2026-03-02T03:30:00.000Z')).toEqual([true, true, true]);
    const succeeded = await e.t.app.store.events.list({ rolloutId: id, type: ['execution.succeeded'], limit: 10, afterId: 0 });
    expect(succeeded.map((ev) => ev.data.from)).toEqual(['downloaded', 'downloaded', 'downloaded']);
  });

  it.skipIf(skip !== null)('a pause holds a ready device inside the open window; resume lets it install', async () => {
    // 03:40 UTC: inside the window.
    clock.set(Date.parse('2026-03-04T03:40:00Z'));
    const d = await device('ahead-pause');
    const artifact = await uploadArtifact(e.t.app, randomBytes(64 * 1024), { name: 'firmware', version: '3.2.0' });
    const released = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'ahead-pause' && ev.type === 'execution.queued');
    const id = ((await e.t.request('POST', '/api/v1/rollouts', { token: e.t.tokens.operator, body: { artifactId: artifact.id, filter: { ids: ['ahead-pause'] }, window: { daily: '03:30-05:00', timezone: 'UTC' }, downloadAhead: true } })).json() as RolloutJson).id;
    await released;
    expect(((await state('ahead-pause', d.token)).json() as { update: { action: string } }).update.action).toBe('install');
    // The device started its download (its first byte request) when the operator paused: the
    // download is in flight and finishes, but the device holds it instead of installing.
    expect((await e.t.request('GET', `/api/v1/device/artifacts/${artifact.id}`, { token: d.token, headers: { range: 'bytes=0-0' } })).status).toBe(206);
    expect((await e.t.request('POST', `/api/v1/rollouts/${id}/pause`, { token: e.t.tokens.operator })).status).toBe(200);
    await d.agent.round();
    expect(d.agent.lastTarget?.update?.action).toBe('download');
    expect(d.agent.current.job?.phase).toBe('ready');
    expect(d.agent.current.current).toBeNull();
    const refused = await e.t.request('PATCH', '/api/v1/device/state', { token: d.token, body: { execution: { id: d.agent.current.job!.update.executionId, state: 'installing' } } });
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/its rollout is paused/);
    expect((await e.t.request('POST', `/api/v1/rollouts/${id}/resume`, { token: e.t.tokens.operator })).status).toBe(200);
    await d.agent.round();
    expect(d.agent.current.job).toBeNull();
    expect(d.agent.current.current?.version).toBe('3.2.0');
  });

  it.skipIf(skip !== null)('a cancelled download-ahead rollout: the ready device drops what it downloaded and installs nothing', async () => {
    clock.set(Date.parse('2026-03-05T06:00:00Z'));
    const d = await device('ahead-cancel');
    const artifact = await uploadArtifact(e.t.app, randomBytes(64 * 1024), { name: 'firmware', version: '3.1.0' });
    const released = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'ahead-cancel' && ev.type === 'execution.queued');
    const id = ((await e.t.request('POST', '/api/v1/rollouts', { token: e.t.tokens.operator, body: { artifactId: artifact.id, filter: { ids: ['ahead-cancel'] }, window: { daily: '03:30-05:00', timezone: 'UTC' }, downloadAhead: true } })).json() as RolloutJson).id;
    await released;
    await d.agent.round();
    expect(d.agent.current.job?.phase).toBe('ready');
    expect((await e.t.request('POST', `/api/v1/rollouts/${id}/cancel`, { token: e.t.tokens.operator })).status).toBe(200);
    await d.agent.round();
    expect(d.agent.current.job).toBeNull();
    expect(d.agent.current.current).toBeNull();
    expect(fs.existsSync(path.join(d.dir, 'current'))).toBe(false);
    expect(await rollout(id)).toMatchObject({ status: 'cancelled', counts: { cancelled: 1 } });
  });
});
