// The device type (issue 15 item 2) from the attacker's side: it is set only by an authenticated
// operator (not a viewer) or by the device itself about itself, bounded in length and charset
// wherever it enters (device API, operator API, filters, hawkBit attributes), so it can carry
// neither a query fragment nor a CSV formula nor control characters into logs and exports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { addPullDevice } from '../testing/pull.js';

const HOSTILE = ['rpi4; DROP TABLE devices', "' OR 1=1 --", '=HYPERLINK("http://x")', 'a\nb', 'x'.repeat(65), '../../etc', ' '];

describe('device type: who may set it, and what it may hold', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'dt-victim', deviceType: 'rpi4' } })).status).toBe(201);
  });
  afterAll(async () => t.close());

  it('authenticates before it validates: no token is 401 and a viewer is 403, even with a bad value', async () => {
    for (const deviceType of ['imx8', HOSTILE[0]]) {
      expect((await t.request('PATCH', '/api/v1/devices/dt-victim', { token: null, body: { deviceType } })).status).toBe(401);
      expect((await t.request('PATCH', '/api/v1/devices/dt-victim', { token: t.tokens.viewer, body: { deviceType } })).status).toBe(403);
    }
    expect((await t.app.store.devices.get('dt-victim'))?.deviceType).toBe('rpi4');
  });

  it('refuses every value outside 1-64 letters, digits and _ . - + : / (operator API, filter and device report)', async () => {
    const token = await addPullDevice(t.app, 'dt-agent');
    for (const deviceType of HOSTILE) {
      expect((await t.request('PATCH', '/api/v1/devices/dt-victim', { body: { deviceType } })).status).toBe(400);
      // A blank filter value means no filter, as for every key; a blank device report is refused by its schema alone.
      if (deviceType.trim() === '') continue;
      expect((await t.request('GET', `/api/v1/devices?deviceType=${encodeURIComponent(deviceType)}`)).status).toBe(400);
      expect((await t.request('PATCH', '/api/v1/device/state', { token, body: { deviceType } })).status).toBe(400);
    }
    expect((await t.request('PATCH', '/api/v1/devices/dt-victim', { body: { deviceType: ['rpi4'] } })).status).toBe(400);
    expect((await t.app.store.devices.get('dt-victim'))?.deviceType).toBe('rpi4');
  });

  it('lets a device set only its own type: the report names no device, so another device cannot be changed', async () => {
    const token = await addPullDevice(t.app, 'dt-self');
    const response = await t.request('PATCH', '/api/v1/device/state', { token, body: { deviceType: 'imx8', deviceId: 'dt-victim' } });
    expect(response.status).toBe(400);
    expect((await t.request('PATCH', '/api/v1/device/state', { token, body: { deviceType: 'imx8' } })).status).toBe(200);
    expect((await t.app.store.devices.get('dt-self'))?.deviceType).toBe('imx8');
    expect((await t.app.store.devices.get('dt-victim'))?.deviceType).toBe('rpi4');
  });

  it('ignores a hawkBit attribute that is not a device type instead of storing it', async () => {
    const token = (await t.app.store.tokens.create({ kind: 'device', deviceId: 'dt-victim', name: 'dt' }, Date.now())).token;
    const put = (data: Record<string, unknown>) => t.request('PUT', '/DEFAULT/controller/v1/dt-victim/configData', { token: null, headers: { authorization: `TargetToken ${token}` }, body: { mode: 'merge', data } });
    expect((await put({ hwRevision: HOSTILE[1] })).status).toBe(200);
    expect((await t.app.store.devices.get('dt-victim'))?.deviceType).toBe('rpi4');
    expect((await put({ hwRevision: 'rev-c' })).status).toBe(200);
    expect((await t.app.store.devices.get('dt-victim'))?.deviceType).toBe('rev-c');
  });
});
