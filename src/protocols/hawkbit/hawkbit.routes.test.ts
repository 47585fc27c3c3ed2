// hawkBit DDI over HTTP: authentication (TargetToken, GatewayToken), the base poll with ETags,
// configData as inventory, input errors; and the real SWUpdate client polling and sending configData.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { requirePeer } from '../../testing/peers.js';
import { waitFor } from '../../testing/mender-client.js';
import { createSwuSigner, startSwupdate, swupdateUnavailable } from '../../testing/swupdate-client.js';

describe('hawkBit DDI routes', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'swu-1', name: 'swu-1', mode: 'pull' } })).status).toBe(201);
    token = (await t.app.store.tokens.create({ kind: 'device', deviceId: 'swu-1', name: 'swu-1' }, Date.now())).token;
    await t.app.store.devices.create({ id: 'other', name: 'other', address: null, mode: 'pull', status: 'unknown', lastSeen: null, version: null, location: null, timezone: 'UTC', tags: {}, metadata: {} }, Date.now());
  });
  afterAll(async () => t.close());

  const ddi = (method: string, path: string, auth: string | null, body?: unknown, headers: Record<string, string> = {}) =>
    t.request(method, path, { token: null, headers: { ...(auth ? { authorization: auth } : {}), ...headers }, ...(body !== undefined ? { body } : {}) });

  it('refuses requests without a valid target or gateway token', async () => {
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', null)).status).toBe(401);
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', `Bearer ${token}`)).status).toBe(401);
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', 'TargetToken wrong')).status).toBe(401);
    expect((await ddi('GET', '/DEFAULT/controller/v1/other', `TargetToken ${token}`)).status).toBe(401);
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', 'GatewayToken nope')).status).toBe(401);
    const refused = await ddi('GET', '/DEFAULT/controller/v1/swu-1', 'TargetToken wrong');
    expect((refused.json() as { error: { message: string } }).error.message).toMatch(/target token is not valid for controller 'swu-1'/);
  });

  it('answers the base poll with the polling sleep, asks for configData, and honours If-None-Match', async () => {
    const first = await ddi('GET', '/DEFAULT/controller/v1/swu-1', `TargetToken ${token}`);
    expect(first.status).toBe(200);
    const body = first.json() as { config: { polling: { sleep: string } }; _links: Record<string, { href: string }> };
    expect(body.config.polling.sleep).toBe('00:01:00');
    expect(Object.keys(body._links)).toEqual(['configData']);
    expect(body._links.configData!.href).toBe(`${t.url}/DEFAULT/controller/v1/swu-1/configData`);
    const etag = first.headers.get('etag')!;
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', `TargetToken ${token}`, undefined, { 'if-none-match': etag })).status).toBe(304);
    // If-None-Match as the RFC reads it: a list, the weak form of the tag, or "*".
    for (const header of [`"elsewhere", ${etag}`, `W/${etag}`, '*']) expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', `TargetToken ${token}`, undefined, { 'if-none-match': header })).status).toBe(304);
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1', `TargetToken ${token}`, undefined, { 'if-none-match': '"elsewhere"' })).status).toBe(200);
    expect(await t.app.store.devices.protocol('swu-1')).toBe('hawkbit');
  });

  it('stores configData as the inventory (merge, replace, remove) and stops asking for it', async () => {
    const auth = `TargetToken ${token}`;
    expect((await ddi('PUT', '/DEFAULT/controller/v1/swu-1/configData', auth, { mode: 'merge', data: { hw: '1.0', board: 'a' } })).status).toBe(200);
    expect((await ddi('PUT', '/DEFAULT/controller/v1/swu-1/configData', auth, { mode: 'merge', data: { board: 'b' } })).status).toBe(200);
    expect((await t.app.store.deviceReports.get('swu-1'))?.inventory).toEqual({ hw: '1.0', board: 'b' });
    // `board` is one of the attributes read as the device type (hwRevision, compatible, ...).
    expect((await t.app.store.devices.get('swu-1'))?.deviceType).toBe('b');
    expect((await ddi('PUT', '/DEFAULT/controller/v1/swu-1/configData', auth, { mode: 'remove', data: { hw: '' } })).status).toBe(200);
    expect((await t.app.store.deviceReports.get('swu-1'))?.inventory).toEqual({ board: 'b' });
    const bad = await ddi('PUT', '/DEFAULT/controller/v1/swu-1/configData', auth, { mode: 'append', data: {} });
    expect(bad.status).toBe(400);
    const poll = (await ddi('GET', '/DEFAULT/controller/v1/swu-1', auth)).json() as { _links: object };
    expect(poll._links).toEqual({});
  });

  it('answers 404 for actions that are not the controller’s and 400 for malformed feedback', async () => {
    const auth = `TargetToken ${token}`;
    expect((await ddi('GET', '/DEFAULT/controller/v1/swu-1/deploymentBase/999', auth)).status).toBe(404);
    const action = await t.app.store.hawkbit.actionFor('exec-x', 'other', Date.now());
    expect((await ddi('GET', `/DEFAULT/controller/v1/swu-1/cancelAction/${action.id}`, auth)).status).toBe(404);
    expect((await ddi('POST', `/DEFAULT/controller/v1/swu-1/deploymentBase/${action.id}/feedback`, auth, { id: action.id, status: { execution: 'closed', result: { finished: 'success' } } })).status).toBe(404);
    const own = await t.app.store.hawkbit.actionFor('exec-y', 'swu-1', Date.now());
    const bad = await ddi('POST', `/DEFAULT/controller/v1/swu-1/deploymentBase/${own.id}/feedback`, auth, { status: { execution: 'finished' } });
    expect(bad.status).toBe(400);
    expect((bad.json() as { error: { details: Array<{ path: string }> } }).error.details[0]!.path).toBe('status.execution');
  });

  it('registers an unknown controller that polls with the tenant gateway token', async () => {
    expect((await t.request('PUT', '/api/v1/hawkbit/tenants/DEFAULT/gateway-token', { token: t.tokens.operator })).status).toBe(403);
    const { gatewayToken } = (await t.request('PUT', '/api/v1/hawkbit/tenants/DEFAULT/gateway-token')).json() as { gatewayToken: string };
    expect((await ddi('GET', '/OTHER/controller/v1/gw-1', `GatewayToken ${gatewayToken}`)).status).toBe(401);
    expect((await ddi('GET', '/DEFAULT/controller/v1/gw-1', `GatewayToken ${gatewayToken}`)).status).toBe(200);
    const device = (await t.request('GET', '/api/v1/devices/gw-1')).json() as { id: string; mode: string };
    expect(device).toMatchObject({ id: 'gw-1', mode: 'pull' });
    expect(await t.app.store.devices.protocol('gw-1')).toBe('hawkbit');
    expect((await t.request('DELETE', '/api/v1/hawkbit/tenants/DEFAULT/gateway-token')).status).toBe(204);
    expect((await ddi('GET', '/DEFAULT/controller/v1/gw-1', `GatewayToken ${gatewayToken}`)).status).toBe(401);
  });

  it.skipIf(requirePeer('SWUpdate', swupdateUnavailable()))('serves the real SWUpdate client: it polls and sends its configData', async () => {
    const dir = fs.mkdtempSync('/var/tmp/uo-swu-');
    const signer = createSwuSigner(dir);
    const deviceToken = (await t.app.store.tokens.create({ kind: 'device', deviceId: 'other', name: 'other' }, Date.now())).token;
    const client = startSwupdate(dir, { serverUrl: t.url, tenant: 'DEFAULT', controllerId: 'other', token: { type: 'target', value: deviceToken }, cert: signer.cert, identify: { board: 'pos-a', serial: 'SN42' } });
    try {
      const inventory = await waitFor('configData from SWUpdate', async () => {
        const report = await t.app.store.deviceReports.get('other');
        return report?.inventory.serial ? report.inventory : undefined;
      });
      expect(inventory).toEqual({ board: 'pos-a', serial: 'SN42' });
      expect(await t.app.store.devices.protocol('other')).toBe('hawkbit');
    } finally {
      await client.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
