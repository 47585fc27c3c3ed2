// hawkBit tenants from the attacker's side (issue 12 item 4), over real HTTP: tenant t1's gateway
// token against a device of tenant t2 and a plain pull device (tenant DEFAULT), both targeted by a
// running rollout: poll, deploymentBase, download and closed/success feedback are refused (401),
// at the attacker's tenant URL and at the victim's, through the framework and the poll fast path,
// and nothing is written (the execution is not marked succeeded, no feedback is recorded, no
// device changes protocol). A target token works only at its own device's tenant URL.
// SQLite and PostgreSQL.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../core/index.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { waitFor } from '../testing/mender-client.js';
import { postgresUnavailable } from '../testing/postgres.js';

const pgSkip = await postgresUnavailable();

describe.each([['sqlite'], ['postgres']] as const)('hawkBit tenants (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let e: EngineApp;
  let t1Gateway = '';
  let t2Gateway = '';
  const targetTokens: Record<string, string> = {};
  let artifactId = '';
  let fileName = '';
  let rolloutId = '';
  const actions: Record<string, number> = {};

  const ddi = (method: string, path: string, authorization: string, init: { body?: unknown; headers?: Record<string, string> } = {}) =>
    e.t.request(method, path, { token: null, headers: { authorization, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
  const execution = async (deviceId: string): Promise<Execution> => (await e.t.app.store.executions.inRollout(rolloutId, deviceId))!;


  beforeAll(async () => {
    if (skip) return;
    e = await startAppWithEngine({ pollIntervalSeconds: 1 }, undefined, db);
    const op = { token: e.t.tokens.operator };
    expect((await e.t.request('POST', '/api/v1/devices', { ...op, body: { id: 'ten-t2', tenant: 't2', tags: { ring: 'ten' } } })).status).toBe(201);
    expect((await e.t.request('POST', '/api/v1/devices', { ...op, body: { id: 'ten-plain', tags: { ring: 'ten' } } })).status).toBe(201);
    for (const id of ['ten-t2', 'ten-plain']) targetTokens[id] = ((await e.t.request('POST', `/api/v1/devices/${id}/token`, op)).json() as { token: string }).token;
    t1Gateway = ((await e.t.request('PUT', '/api/v1/hawkbit/tenants/t1/gateway-token')).json() as { gatewayToken: string }).gatewayToken;
    t2Gateway = ((await e.t.request('PUT', '/api/v1/hawkbit/tenants/t2/gateway-token')).json() as { gatewayToken: string }).gatewayToken;
    const { artifact } = await e.t.app.artifacts.upload(Readable.from([Buffer.from('firmware 2\n')]), { name: 'ten-fw', version: '2.0.0' }, 'test');
    artifactId = artifact.id;
    rolloutId = (await e.rollouts.create({ artifactId, filter: { tag: 'ring:ten' } })).id;
    // The t2 device's action as its own controller sees it; the plain pull device never spoke DDI,
    // so its action number is made here (an attacker may guess the numbers).
    actions['ten-t2'] = await waitFor('a deployment for ten-t2', async () => {
      const poll = (await ddi('GET', '/t2/controller/v1/ten-t2', `TargetToken ${targetTokens['ten-t2']}`)).json() as { _links?: { deploymentBase?: { href: string } } };
      const href = poll._links?.deploymentBase?.href;
      return href ? Number(/deploymentBase\/(\d+)/.exec(href)![1]) : undefined;
    });
    const plain = await waitFor('the plain device released', async () => ((await execution('ten-plain'))?.state === 'queued' ? execution('ten-plain') : undefined));
    actions['ten-plain'] = (await e.t.app.store.hawkbit.actionFor(plain.id, 'ten-plain', Date.now())).id;
    const deployment = (await ddi('GET', `/t2/controller/v1/ten-t2/deploymentBase/${actions['ten-t2']}`, `TargetToken ${targetTokens['ten-t2']}`)).json() as {
      deployment: { chunks: { artifacts: { filename: string }[] }[] };
    };
    fileName = deployment.deployment.chunks[0]!.artifacts[0]!.filename;
  });
  afterAll(async () => e?.close());

  it.skipIf(skip !== null)("refuses tenant t1's gateway token on a t2 device and a plain pull device: poll, deployment, download, feedback", async () => {
    const gateway = `GatewayToken ${t1Gateway}`;
    const before = (await e.t.app.store.events.list({ type: ['hawkbit.feedback'], limit: 100 })).length;
    expect(await e.t.app.store.devices.protocol('ten-plain')).toBe('native');
    for (const [id, tenant] of [['ten-t2', 't2'], ['ten-plain', 'DEFAULT']] as const) {
      const action = actions[id]!;
      // At the gateway's own tenant URL (the device is not of t1) and at the victim's (the token is not of it).
      for (const at of ['t1', tenant]) {
        const base = `/${at}/controller/v1/${id}`;
        const attempts: [string, string, unknown?][] = [
          ['GET', base],
          ['GET', `${base}/deploymentBase/${action}`],
          ['GET', `${base}/softwaremodules/${encodeURIComponent(artifactId)}/artifacts/${encodeURIComponent(fileName)}`],
          ['GET', `${base}/softwaremodules/${encodeURIComponent(artifactId)}/artifacts/${encodeURIComponent(fileName)}.MD5SUM`],
          ['POST', `${base}/deploymentBase/${action}/feedback`, { id: String(action), status: { execution: 'closed', result: { finished: 'success' } } }],
          ['PUT', `${base}/configData`, { mode: 'merge', data: { owned: 'yes' } }],
          ['GET', `${base}/installedBase/${action}`],
        ];
        for (const [method, path, body] of attempts) {
          const answer = await ddi(method, path, gateway, body !== undefined ? { body } : {});
          expect({ method, path, status: answer.status }).toEqual({ method, path, status: 401 });
          expect(answer.text).not.toContain('firmware');
        }
        // The download's HEAD and conditional forms (http/send-file.ts) are refused the same way:
        // no 304 or 206 that would tell the attacker anything of the file.
        const download = `${base}/softwaremodules/${encodeURIComponent(artifactId)}/artifacts/${encodeURIComponent(fileName)}`;
        for (const [method, headers] of [['HEAD', {}], ['GET', { 'if-none-match': '*' }], ['GET', { range: 'bytes=0-0' }], ['HEAD', { 'if-none-match': '*', range: 'bytes=0-0' }]] as const) {
          const answer = await ddi(method, download, gateway, { headers });
          expect({ method, headers, status: answer.status }).toEqual({ method, headers, status: 401 });
          expect(answer.headers.get('etag')).toBeNull();
        }
      }
      const state = await execution(id);
      expect(state.state).not.toBe('succeeded');
      expect(['queued', 'downloading']).toContain(state.state);
      expect((await e.t.app.store.deviceReports.get(id))?.inventory ?? {}).not.toHaveProperty('owned');
    }
    expect((await e.t.app.store.events.list({ type: ['hawkbit.feedback'], limit: 100 })).length).toBe(before);
    expect(await e.t.app.store.devices.protocol('ten-plain')).toBe('native');
    expect((await e.t.request('GET', '/api/v1/devices/ten-t2')).json()).toMatchObject({ tenant: 't2', status: expect.any(String) });
  });

  it.skipIf(skip !== null)('accepts a target token only at its own device’s tenant URL, on the fast path too', async () => {
    const own = `TargetToken ${targetTokens['ten-t2']}`;
    const first = await ddi('GET', '/t2/controller/v1/ten-t2', own);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    // Answered 304 from memory at its tenant...
    expect((await ddi('GET', '/t2/controller/v1/ten-t2', own, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // ...and refused at any other, with the same ETag, before and after the cache is warm.
    for (const tenant of ['DEFAULT', 't1', 'T2']) {
      expect((await ddi('GET', `/${tenant}/controller/v1/ten-t2`, own, { headers: { 'if-none-match': etag } })).status).toBe(401);
      expect((await ddi('GET', `/${tenant}/controller/v1/ten-t2/deploymentBase/${actions['ten-t2']}`, own)).status).toBe(401);
      const feedback = await ddi('POST', `/${tenant}/controller/v1/ten-t2/deploymentBase/${actions['ten-t2']}/feedback`, own, { body: { id: String(actions['ten-t2']), status: { execution: 'closed', result: { finished: 'success' } } } });
      expect(feedback.status).toBe(401);
    }
    expect((await execution('ten-t2')).state).not.toBe('succeeded');
    // A plain pull device's token is a TargetToken of tenant DEFAULT only.
    expect((await ddi('GET', '/t1/controller/v1/ten-plain', `TargetToken ${targetTokens['ten-plain']}`)).status).toBe(401);
  });

  it.skipIf(skip !== null)('moving a device to another tenant moves its credentials with it at once', async () => {
    const own = `TargetToken ${targetTokens['ten-t2']}`;
    const etag = (await ddi('GET', '/t2/controller/v1/ten-t2', own)).headers.get('etag')!;
    expect((await e.t.request('PATCH', '/api/v1/devices/ten-t2', { token: e.t.tokens.operator, body: { tenant: 't3' } })).status).toBe(200);
    expect((await ddi('GET', '/t2/controller/v1/ten-t2', own, { headers: { 'if-none-match': etag } })).status).toBe(401);
    expect((await ddi('GET', '/t2/controller/v1/ten-t2', `GatewayToken ${t2Gateway}`)).status).toBe(401);
    expect((await ddi('GET', '/t3/controller/v1/ten-t2', own)).status).toBe(200);
    expect((await e.t.request('PATCH', '/api/v1/devices/ten-t2', { token: e.t.tokens.operator, body: { tenant: 't2' } })).status).toBe(200);
    expect((await ddi('GET', '/t2/controller/v1/ten-t2', `GatewayToken ${t2Gateway}`)).status).toBe(200);
  });

  it.skipIf(skip !== null)("registers a new controller in the gateway's own tenant, and lists devices by tenant", async () => {
    expect((await ddi('GET', '/t1/controller/v1/ten-new', `GatewayToken ${t1Gateway}`)).status).toBe(200);
    expect((await e.t.request('GET', '/api/v1/devices/ten-new')).json()).toMatchObject({ id: 'ten-new', tenant: 't1' });
    // The t2 gateway cannot take it over, nor the DEFAULT one.
    expect((await ddi('GET', '/t2/controller/v1/ten-new', `GatewayToken ${t2Gateway}`)).status).toBe(401);
    const t1 = (await e.t.request('GET', '/api/v1/devices?tenant=t1')).json() as { items: { id: string }[] };
    expect(t1.items.map((d) => d.id)).toEqual(['ten-new']);
    expect((await e.t.request('GET', '/api/v1/devices?tenant=t1,t2')).json()).toMatchObject({ total: 2 });
    expect((await e.t.request('GET', '/api/v1/devices?tenant=no/slash')).status).toBe(400);
    expect((await e.t.request('POST', '/api/v1/devices', { token: e.t.tokens.operator, body: { id: 'ten-bad', tenant: 'a b' } })).json()).toMatchObject({ error: { details: [{ path: 'tenant' }] } });
  });
});
