// Attacker-side tests of issue 13's routes and rules, real HTTP against a real server on SQLite and
// PostgreSQL: retry and the execution listings need the right role (a viewer reads, only an
// operator retries, a device token does neither) and refuse unbounded or unknown input; the
// in-flight download rule serves a device only its own execution in flight, never another's,
// and nothing once it is finished; a report for work not released to the device changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';

const pgSkip = await postgresUnavailable();

describe.each([['sqlite'], ['postgres']] as const)('rollout operations, attacker side (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let t: TestApp;
  let rolloutId: string;
  let artifactId: string;
  const tokens = { victim: '', intruder: '' };
  beforeAll(async () => {
    if (skip) return;
    t = await startTestApp({ db });
    tokens.victim = await addPullDevice(t.app, 'victim');
    tokens.intruder = await addPullDevice(t.app, 'intruder');
    artifactId = (await uploadArtifact(t.app, Buffer.alloc(4096, 1), { name: 'fw', version: '9.0.0' })).id;
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'victim' && e.type === 'execution.queued');
    rolloutId = ((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId, filter: { ids: ['victim'] } } })).json() as { id: string }).id;
    await released;
  });
  afterAll(async () => t?.close());

  it.skipIf(skip !== null)('retry needs an operator token: none is 401, a viewer or a device token is 403, and nothing is re-queued', async () => {
    const before = (await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json();
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: null, body: {} })).status).toBe(401);
    // Authentication comes before validation: a malformed body without a token is still a 401.
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: null, body: { deviceId: ['x'], everything: true } })).status).toBe(401);
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=nonsense&limit=0`, { token: null })).status).toBe(401);
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.viewer, body: {} })).status).toBe(403);
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: tokens.victim, body: {} })).status).toBe(403);
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json()).toEqual(before);
  });

  it.skipIf(skip !== null)('retry refuses unknown fields and unbounded device ids, naming the field', async () => {
    const unknown = await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: { deviceId: 'victim', everything: true } });
    expect(unknown.status).toBe(400);
    const long = await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: { deviceId: 'x'.repeat(129) } });
    expect(long.status).toBe(400);
    expect(long.text).toMatch(/deviceId/);
    const wrongType = await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: { deviceId: ['victim'] } });
    expect(wrongType.status).toBe(400);
  });

  it.skipIf(skip !== null)('execution listings are for operators and viewers, not devices, and refuse bad filters', async () => {
    for (const path of [`/api/v1/rollouts/${rolloutId}/devices`, '/api/v1/devices/victim/executions']) {
      expect((await t.request('GET', path, { token: null })).status).toBe(401);
      expect((await t.request('GET', path, { token: tokens.victim })).status).toBe(403);
      expect((await t.request('GET', path, { token: t.tokens.viewer })).status).toBe(200);
    }
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?limit=100000`)).status).toBe(400);
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=${'failed,'.repeat(5)}x`)).status).toBe(400);
    expect((await t.request('GET', `/api/v1/devices/victim/executions?cursor=${encodeURIComponent('bm90LWEtdGltZQ')}`)).status).toBe(400);
  });

  it.skipIf(skip !== null)("serves a device only its own execution in flight: another device's download is 403, and so is a finished one", async () => {
    const download = (token: string) => t.request('GET', `/api/v1/device/artifacts/${artifactId}`, { token, headers: { range: 'bytes=0-9' } });
    // The victim starts its download; the intruder is not targeted with this artifact.
    expect((await download(tokens.victim)).status).toBe(206);
    expect((await t.app.store.executions.inRollout(rolloutId, 'victim'))?.state).toBe('downloading');
    expect((await download(tokens.intruder)).status).toBe(403);
    // Paused: the victim's started download is still served, the intruder's still refused.
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/pause`, { token: t.tokens.operator })).status).toBe(200);
    expect((await download(tokens.victim)).status).toBe(206);
    expect((await download(tokens.intruder)).status).toBe(403);
    // The intruder cannot report on the victim's execution.
    const executionId = (await t.app.store.executions.inRollout(rolloutId, 'victim'))!.id;
    expect((await t.request('PATCH', '/api/v1/device/state', { token: tokens.intruder, body: { execution: { id: executionId, state: 'succeeded' } } })).status).toBe(404);
    // Cancelled: nothing is in flight any more, so nothing is served.
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/cancel`, { token: t.tokens.operator })).status).toBe(200);
    expect((await download(tokens.victim)).status).toBe(403);
    // A failure reported after the cancel changes nothing (only an install that happened anyway is recorded).
    expect((await t.request('PATCH', '/api/v1/device/state', { token: tokens.victim, body: { execution: { id: executionId, state: 'failed', error: 'x' } } })).status).toBe(409);
    expect((await t.app.store.executions.get(executionId))).toMatchObject({ state: 'cancelled', installedAfterCancel: false, error: null });
  });

  it.skipIf(skip !== null)('a device cannot move work the pause took back, nor claim it installed work never released to it', async () => {
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'intruder' && e.type === 'execution.queued');
    const id = ((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId, filter: { ids: ['intruder'] } } })).json() as { id: string }).id;
    await released;
    const executionId = (await t.app.store.executions.inRollout(id, 'intruder'))!.id;
    expect((await t.request('POST', `/api/v1/rollouts/${id}/pause`, { token: t.tokens.operator })).status).toBe(200);
    for (const state of ['downloading', 'succeeded', 'failed']) {
      expect((await t.request('PATCH', '/api/v1/device/state', { token: tokens.intruder, body: { execution: { id: executionId, state } } })).status).toBe(409);
    }
    expect(await t.app.store.executions.get(executionId)).toMatchObject({ state: 'pending', installedAfterCancel: false });
  });
});
