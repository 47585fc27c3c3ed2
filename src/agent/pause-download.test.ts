// Pause means "start nothing new", with real agents and the real engine on SQLite and PostgreSQL:
// a device whose 3 MB download was cut at 1.5 MB when the operator paused resumes it with a Range
// request, installs and succeeds; a device that had not started waits; resume completes the
// rollout with no failure.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { startCutProxy, type CutProxy } from '../testing/cut-proxy.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';
import { createDeviceAgent } from './device-agent.js';
import { silentLog } from './log.js';

const pgSkip = await postgresUnavailable();
const SIZE = 3 * 1024 * 1024;
const CUT = 1.5 * 1024 * 1024;

interface RolloutJson {
  status: string;
  counts: Record<string, number>;
  waiting: string | null;
  progress: { total: number; failed: number; etaSeconds: number | null };
}

describe.each([['sqlite'], ['postgres']] as const)('pause during a pull download (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let t: TestApp;
  let proxy: CutProxy;
  const dirs: string[] = [];
  beforeAll(async () => {
    if (skip) return;
    t = await startTestApp({ db });
    proxy = await startCutProxy(t.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await t?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function agent(id: string) {
    const token = await addPullDevice(t.app, id);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-pause-'));
    dirs.push(dir);
    const a = createDeviceAgent({ server: proxy.url, deviceId: id, token, dir }, silentLog);
    await a.init();
    return { agent: a, current: () => fs.readFileSync(path.join(dir, 'current')) };
  }
  const execution = async (rolloutId: string, deviceId: string) => (await t.app.store.executions.inRollout(rolloutId, deviceId))!;
  const rollout = async (id: string) => (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as RolloutJson;

  it.skipIf(skip !== null)('lets the started download finish as succeeded, starts nothing new, and resume completes with no failure', async () => {
    const started = await agent('pause-started');
    const waiting = await agent('pause-waiting');
    const bytes = randomBytes(SIZE);
    const artifact = await uploadArtifact(t.app, bytes, { name: 'firmware', version: '2.0.0' });
    const released = Promise.all(['pause-started', 'pause-waiting'].map((id) => nextEvent(t.app.events, (e) => e.deviceId === id && e.type === 'execution.queued')));
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId: artifact.id, filter: { ids: ['pause-started', 'pause-waiting'] } } });
    expect(created.status).toBe(201);
    const id = (created.json() as { id: string }).id;
    await released;

    // The connection drops at 1.5 of 3 MB; the server saw the download start.
    proxy.cutNextAfter(CUT);
    await started.agent.round();
    expect(started.agent.current.job).toMatchObject({ phase: 'download' });
    expect((await execution(id, 'pause-started')).state).toBe('downloading');

    const paused = await t.request('POST', `/api/v1/rollouts/${id}/pause`, { token: t.tokens.operator });
    expect(paused.status).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused', pauseCause: 'operator', counts: { downloading: 1, pending: 1 }, waiting: null, progress: { etaSeconds: null } });

    // The device that had not started is offered nothing while paused.
    await waiting.agent.round();
    expect(waiting.agent.current.job).toBeNull();
    expect((await execution(id, 'pause-waiting')).state).toBe('pending');

    // The started one resumes its download from 1.5 MB and finishes.
    const succeeded = nextEvent(t.app.events, (e) => e.deviceId === 'pause-started' && e.type === 'execution.succeeded');
    await started.agent.round();
    await succeeded;
    // A Range request from what reached the disk before the cut (up to 1.5 MB), answered 206.
    const from = Number(/^bytes=(\d+)-$/.exec(proxy.ranges.at(-1) ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(CUT);
    expect(started.current().equals(bytes)).toBe(true);
    expect(await rollout(id)).toMatchObject({ status: 'paused', counts: { succeeded: 1, pending: 1 }, progress: { failed: 0, etaSeconds: null } });

    const completed = nextEvent(t.app.events, (e) => e.rolloutId === id && e.type === 'rollout.completed');
    const releasedAgain = nextEvent(t.app.events, (e) => e.deviceId === 'pause-waiting' && e.type === 'execution.queued');
    expect((await t.request('POST', `/api/v1/rollouts/${id}/resume`, { token: t.tokens.operator })).status).toBe(200);
    await releasedAgain;
    await waiting.agent.round();
    await completed;
    expect(await rollout(id)).toMatchObject({ status: 'completed', counts: { succeeded: 2 }, progress: { total: 2, failed: 0 } });
    const failures = await t.app.store.events.list({ rolloutId: id, type: ['execution.failed'], limit: 10, afterId: 0 });
    expect(failures).toEqual([]);
  });

  it.skipIf(skip !== null)('refuses a report for work the pause took back, and the agent drops it without failing', async () => {
    const d = await agent('pause-race');
    const artifact = await uploadArtifact(t.app, randomBytes(64 * 1024), { name: 'firmware', version: '2.1.0' });
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'pause-race' && e.type === 'execution.queued');
    const id = ((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId: artifact.id, filter: { ids: ['pause-race'] } } })).json() as { id: string }).id;
    await released;
    // The device saw its target, then the pause took the work back before it fetched a byte.
    expect(await d.agent.poll()).toBe(true);
    expect(d.agent.lastTarget?.update?.rolloutId).toBe(id);
    expect((await t.request('POST', `/api/v1/rollouts/${id}/pause`, { token: t.tokens.operator })).status).toBe(200);
    const executionId = d.agent.lastTarget!.update!.executionId;
    const report = await t.request('PATCH', '/api/v1/device/state', { token: (await t.app.store.tokens.create({ kind: 'device', deviceId: 'pause-race', name: 'x' }, Date.now())).token, body: { execution: { id: executionId, state: 'downloading' } } });
    expect(report.status).toBe(409);
    expect(report.text).toMatch(/not released to this device/);
    // Its download is refused (403); the agent polls again and drops the job instead of failing it.
    await d.agent.apply().catch(() => undefined);
    await d.agent.round();
    expect(d.agent.current.job).toBeNull();
    expect((await execution(id, 'pause-race')).state).toBe('pending');
    expect(d.agent.current.outbox.filter((r) => r.state === 'failed')).toEqual([]);
  });
});
