// What a hawkBit controller runs, as the device list shows it: the version of the artifact it
// reports installed (closed/success), recorded also when the execution does not take the report
// (it ended otherwise meanwhile). Through the real engine; the attacker's side is in
// src/security/device-versions.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';

describe('hawkBit feedback records the version a controller runs', () => {
  let e: EngineApp;
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 30 });
  });
  afterAll(async () => e?.close());

  /** A controller with a token, offered a rollout of fw `version`: its action id and helpers. */
  async function offered(id: string, artifactVersion: string) {
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id, name: id, mode: 'pull', status: 'online', version: '1.0.0', tags: { ring: id } } })).status).toBe(201);
    const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
    const ddi = (method: string, path: string, body?: unknown) => e.t.request(method, path, { token: null, headers: { authorization: `TargetToken ${token}` }, ...(body !== undefined ? { body } : {}) });
    const upload = await e.t.request('POST', `/api/v1/artifacts?name=fw-${id}&version=${artifactVersion}`, { raw: `firmware ${id}\n`, headers: { 'content-type': 'application/octet-stream' } });
    const artifactId = (upload.json() as { id: string }).id;
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === id && ev.type === 'execution.queued');
    await e.rollouts.create({ artifactId, filter: { tag: `ring:${id}` } }, 'token:test');
    const executionId = (await queued).executionId!;
    const poll = (await ddi('GET', `/DEFAULT/controller/v1/${id}`)).json() as { _links: { deploymentBase?: { href: string } } };
    const actionId = Number(/deploymentBase\/(\d+)/.exec(poll._links.deploymentBase!.href)![1]);
    const feedback = (execution: string, finished: string, action = actionId) => ddi('POST', `/DEFAULT/controller/v1/${id}/deploymentBase/${action}/feedback`, { id: action, status: { execution, result: { finished } } });
    const version = async () => (await e.t.app.store.devices.get(id))?.version;
    return { actionId, executionId, feedback, version };
  }

  it('records the installed version when the execution succeeds', async () => {
    const c = await offered('hv-ok', '2.0.0');
    expect((await c.feedback('proceeding', 'none')).status).toBe(200);
    expect(await c.version()).toBe('1.0.0');
    expect((await c.feedback('closed', 'success')).status).toBe(200);
    expect((await e.t.app.store.executions.get(c.executionId))?.state).toBe('succeeded');
    expect(await c.version()).toBe('2.0.0');
  });

  it('records it when the device installs after all what it reported rejected (the execution stays failed)', async () => {
    const c = await offered('hv-late', '3.0.0');
    expect((await c.feedback('rejected', 'failure')).status).toBe(200);
    expect((await e.t.app.store.executions.get(c.executionId))?.state).toBe('failed');
    expect((await c.feedback('closed', 'success')).status).toBe(200);
    expect((await e.t.app.store.executions.get(c.executionId))?.state).toBe('failed');
    expect(await c.version()).toBe('3.0.0');
  });
});
