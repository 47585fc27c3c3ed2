// The real mender-client against our server: it authenticates with a signed request, waits as
// pending, is accepted by an operator, then sends its inventory and asks for deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/index.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { menderClientUnavailable, startMenderClient, waitFor, type MenderClient } from '../testing/mender-client.js';

const unavailable = menderClientUnavailable();
if (unavailable) console.warn(`skipping mender-client tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('mender-client authentication (real client)', () => {
  let t: TestApp;
  let client: MenderClient | undefined;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await client?.stop();
    await t.close();
  });

  it('waits pending until accepted, then gets a token and reports its inventory', async () => {
    const pending = new Promise<EventRecord>((resolve) => {
      const unsubscribe = t.app.events.subscribe((records) => {
        const hit = records.find((r) => r.type === 'mender.auth-pending');
        if (hit) {
          unsubscribe();
          resolve(hit);
        }
      });
    });
    client = startMenderClient({ serverUrl: t.url, identity: { mac: '02:00:00:00:00:42' }, deviceType: 'test-dev', artifactName: 'release-1' });
    const event = await pending;
    const deviceId = event.deviceId!;
    expect(deviceId).toMatch(/^mender-[0-9a-f]{16}$/);
    // Pending: no device yet, and the client keeps being refused.
    expect((await t.request('GET', `/api/v1/devices/${deviceId}`)).status).toBe(404);
    const sets = (await t.request('GET', '/api/v1/mender/auth-sets?status=pending', { token: t.tokens.viewer })).json() as { items: Array<{ id: string; deviceId: string; identity: unknown; pubkey: string }> };
    expect(sets.items).toHaveLength(1);
    expect(sets.items[0]).toMatchObject({ deviceId, identity: { mac: '02:00:00:00:00:42' } });
    expect(sets.items[0]!.pubkey).toMatch(/BEGIN PUBLIC KEY/);
    expect((await t.request('POST', `/api/v1/mender/auth-sets/${sets.items[0]!.id}/accept`, { token: t.tokens.viewer })).status).toBe(403);
    expect((await t.request('POST', `/api/v1/mender/auth-sets/${sets.items[0]!.id}/accept`, { token: t.tokens.operator })).status).toBe(200);
    // Accepted: the client authenticates and sends its inventory; the device shows like any other.
    const inventory = await waitFor('the inventory', async () => {
      const report = await t.app.store.deviceReports.get(deviceId);
      return report?.inventory.device_type ? report.inventory : undefined;
    });
    expect(inventory).toMatchObject({ device_type: 'test-dev', artifact_name: 'release-1' });
    const device = (await t.request('GET', `/api/v1/devices/${deviceId}`)).json() as { id: string; mode: string; version: string | null; status: string };
    expect(device).toMatchObject({ id: deviceId, mode: 'pull', version: 'release-1' });
    expect(await t.app.store.protocols.deviceProtocol(deviceId)).toBe('mender');
  });
});
