// Decommissioning from the attacker's side (issue 12 item 5), over real HTTP: a Mender device
// holding a JWT, a pull device whose token the server has cached, and a hawkBit controller whose
// base poll the fast path answers from memory are decommissioned (DELETE /api/v1/devices/:id)
// while a rollout targets them. At once: the JWT is refused, a new auth request gets no JWT (with
// the old key or a new one), inventory answers 401 (it used to be a 500 from a foreign key), the
// device token and the DDI target token are refused; the rollout ends instead of waiting, the
// executions and events stay readable, and no operator action revives a credential. SQLite and
// PostgreSQL, and across two servers on one PostgreSQL database (decommissioned through one,
// refused by the other with its caches warm).
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../app.js';
import { loadConfig } from '../config.js';
import { buildMenderArtifact } from '../protocols/mender/mender.fixtures.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { waitFor } from '../testing/mender-client.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';

const pgSkip = await postgresUnavailable();

interface MenderKey {
  identity: Record<string, string>;
  pem: string;
  privateKey: KeyObject;
}

const menderKey = (identity: Record<string, string>): MenderKey => {
  const pair = generateKeyPairSync('ed25519');
  return { identity, pem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey: pair.privateKey };
};

/** A signed Mender auth request, as mender-client sends it: the JWT, or the refusal. */
async function menderAuth(url: string, key: MenderKey): Promise<{ status: number; text: string }> {
  const body = Buffer.from(JSON.stringify({ id_data: JSON.stringify(key.identity), pubkey: key.pem, tenant_token: '' }));
  const response = await fetch(`${url}/api/devices/v1/authentication/auth_requests`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-men-signature': sign(null, body, key.privateKey).toString('base64') }, body });
  return { status: response.status, text: await response.text() };
}

/** The device-side calls of every credential kind, against one server. */
function deviceCalls(url: string) {
  const send = async (method: string, urlPath: string, authorization: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(url + urlPath, { method, headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: response.status, etag: response.headers.get('etag'), text: await response.text() };
  };
  return {
    next: (jwt: string) => send('POST', '/api/devices/v2/deployments/device/deployments/next', `Bearer ${jwt}`, { device_provides: { device_type: 'dec-board', artifact_name: 'dec-1' }, update_control_map: false }),
    inventory: (jwt: string, method: 'PUT' | 'PATCH') => send(method, '/api/devices/v1/inventory/device/attributes', `Bearer ${jwt}`, [{ name: 'kernel', value: '6.1' }]),
    state: (id: string, token: string) => send('GET', `/api/v1/device/${id}/state`, `Bearer ${token}`),
    ddi: (id: string, token: string, etag?: string | null) => send('GET', `/DEFAULT/controller/v1/${id}`, `TargetToken ${token}`, undefined, etag ? { 'if-none-match': etag } : {}),
  };
}

describe.each([['sqlite'], ['postgres']] as const)('decommissioning (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let e: EngineApp;
  beforeAll(async () => {
    if (!skip) e = await startAppWithEngine({ pollIntervalSeconds: 1 }, undefined, db);
  });
  afterAll(async () => e?.close());

  it.skipIf(skip !== null)('ends every credential at once, ends its executions so the rollout finishes, and keeps the history', async () => {
    const op = { token: e.t.tokens.operator };
    const calls = deviceCalls(e.t.url);
    // A Mender device with its JWT.
    const key = menderKey({ device_id: 'dec-m', mac: '02:00:00:00:0d:01' });
    expect((await e.t.request('POST', '/api/v1/mender/preauthorize', { ...op, body: { identity: key.identity, pubkey: key.pem } })).status).toBe(201);
    const jwt = (await menderAuth(e.t.url, key)).text;
    expect((await calls.inventory(jwt, 'PATCH')).status).toBe(200);
    // A pull device and a hawkBit controller, each with its token, used (so cached).
    for (const id of ['dec-p', 'dec-h']) expect((await e.t.request('POST', '/api/v1/devices', { ...op, body: { id } })).status).toBe(201);
    const tokens: Record<string, string> = {};
    for (const id of ['dec-p', 'dec-h']) tokens[id] = ((await e.t.request('POST', `/api/v1/devices/${id}/token`, op)).json() as { token: string }).token;
    const upload = await e.t.request('POST', '/api/v1/artifacts?name=dec-app&version=2.0.0', { raw: buildMenderArtifact({ name: 'dec-2', deviceTypes: ['dec-board'], files: [['app.bin', 'v2']] }), headers: { 'content-type': 'application/octet-stream' } });
    const rollout = (await e.t.request('POST', '/api/v1/rollouts', { ...op, body: { artifactId: (upload.json() as { id: string }).id, filter: { ids: ['dec-m', 'dec-p', 'dec-h'] } } })).json() as { id: string };
    const deployment = await waitFor('the Mender deployment', async () => {
      const answer = await calls.next(jwt);
      return answer.status === 200 ? (JSON.parse(answer.text) as { id: string }) : undefined;
    });
    expect((await fetch(`${e.t.url}/api/devices/v1/deployments/device/deployments/${deployment.id}/status`, { method: 'PUT', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body: JSON.stringify({ status: 'downloading' }) })).status).toBe(204);
    await waitFor('the pull target', async () => JSON.parse((await calls.state('dec-p', tokens['dec-p']!)).text).update !== null || undefined);
    const first = await calls.ddi('dec-h', tokens['dec-h']!);
    expect(first.status).toBe(200);
    expect((await calls.ddi('dec-h', tokens['dec-h']!, first.etag)).status).toBe(304);

    for (const id of ['dec-m', 'dec-p', 'dec-h']) expect((await e.t.request('DELETE', `/api/v1/devices/${id}`, op)).status).toBe(204);

    // Mender: the JWT is refused, inventory too (401, not 500), no JWT with the old key or a new one.
    expect((await calls.next(jwt)).status).toBe(401);
    for (const method of ['PUT', 'PATCH'] as const) expect((await calls.inventory(jwt, method)).status).toBe(401);
    expect(await menderAuth(e.t.url, key)).toMatchObject({ status: 401, text: expect.stringContaining('decommissioned') });
    const fresh = menderKey(key.identity);
    expect((await menderAuth(e.t.url, fresh)).status).toBe(401);
    const sets = (await e.t.request('GET', '/api/v1/mender/auth-sets')).json() as { items: { deviceId: string; status: string }[] };
    expect(sets.items.filter((s) => s.deviceId === 'dec-m').map((s) => s.status)).toEqual(['decommissioned']);
    // The device token and the DDI target token, though both were cached, the DDI one on the fast path.
    expect((await calls.state('dec-p', tokens['dec-p']!)).status).toBe(401);
    expect((await calls.ddi('dec-h', tokens['dec-h']!, first.etag)).status).toBe(401);
    expect((await calls.ddi('dec-h', tokens['dec-h']!)).status).toBe(401);

    // Nothing revives them: no token, no acceptance, no edit; a gateway cannot speak for them either.
    expect((await e.t.request('POST', '/api/v1/devices/dec-p/token', op)).status).toBe(409);
    const setId = ((await e.t.request('GET', '/api/v1/mender/auth-sets?status=decommissioned')).json() as { items: { id: string; deviceId: string }[] }).items.find((s) => s.deviceId === 'dec-m')!.id;
    expect((await e.t.request('POST', `/api/v1/mender/auth-sets/${setId}/accept`, op)).status).toBe(409);
    expect((await e.t.request('PATCH', '/api/v1/devices/dec-p', { ...op, body: { name: 'back' } })).status).toBe(409);
    const again = await e.t.request('POST', '/api/v1/devices', { ...op, body: { id: 'dec-p' } });
    expect({ status: again.status, decommissioned: /was decommissioned/.test(again.text) }).toEqual({ status: 409, decommissioned: true });
    const { gatewayToken } = (await e.t.request('PUT', '/api/v1/hawkbit/tenants/DEFAULT/gateway-token')).json() as { gatewayToken: string };
    expect((await fetch(`${e.t.url}/DEFAULT/controller/v1/dec-h`, { headers: { authorization: `GatewayToken ${gatewayToken}` } })).status).toBe(401);

    // The rollout does not wait for them: each execution ended, with the reason, and it finished.
    const finished = await waitFor('the rollout to finish', async () => {
      const r = (await e.t.request('GET', `/api/v1/rollouts/${rollout.id}`)).json() as { status: string; counts: Record<string, number> };
      return ['completed', 'failed'].includes(r.status) ? r : undefined;
    });
    // Released but not started (queued) is skipped; started (downloading) is cancelled.
    expect(finished.counts).toEqual({ cancelled: 1, skipped: 2 });
    const executions = (await e.t.request('GET', `/api/v1/rollouts/${rollout.id}/devices?limit=10`)).json() as { items: { deviceId: string; state: string; error: string | null }[] };
    expect(Object.fromEntries(executions.items.map((x) => [x.deviceId, x.state]))).toEqual({ 'dec-m': 'cancelled', 'dec-p': 'skipped', 'dec-h': 'skipped' });
    for (const x of executions.items) expect(x.error).toMatch(/device decommissioned by token:/);
    // History stays readable: the device, its events, its report.
    expect((await e.t.request('GET', '/api/v1/devices/dec-m')).json()).toMatchObject({ id: 'dec-m', decommissionedAt: expect.any(String) });
    const events = (await e.t.request('GET', '/api/v1/events?deviceId=dec-m&limit=50')).json() as { items: { type: string }[] };
    expect(events.items.map((x) => x.type)).toEqual(expect.arrayContaining(['device.decommissioned', 'execution.cancelled', 'execution.downloading', 'mender.device-preauthorized']));
    expect((await e.t.request('GET', '/api/v1/devices?q=dec-')).json()).toMatchObject({ total: 0 });
    expect((await e.t.request('GET', '/api/v1/devices?q=dec-&decommissioned=true')).json()).toMatchObject({ total: 3 });
    const aimed = await e.t.request('POST', '/api/v1/rollouts', { ...op, body: { artifactId: (upload.json() as { id: string }).id, filter: { ids: ['dec-p'], decommissioned: 'true' } } });
    expect(aimed.json()).toMatchObject({ error: { details: [{ path: 'filter.decommissioned' }] } });
    // Only an operator decommissions.
    expect((await e.t.request('DELETE', '/api/v1/devices/dec-m', { token: e.t.tokens.viewer })).status).toBe(403);
    expect((await e.t.request('DELETE', '/api/v1/devices/dec-m', { token: null })).status).toBe(401);
  });
});

describe.skipIf(pgSkip !== null)('decommissioning across two servers on one PostgreSQL database', () => {
  let db: TestDatabase;
  let dataDir: string;
  const apps: App[] = [];
  const urls: string[] = [];
  let admin = '';
  beforeAll(async () => {
    db = await createTestDatabase('uo_decommission');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-decommission-'));
    for (let i = 0; i < 2; i++) {
      const app = await createApp(loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', databaseUrl: db.url, pollIntervalSeconds: 1 }, {}), { logger: false });
      apps.push(app);
      urls.push(await app.listen());
    }
    admin = (await apps[0]!.store.tokens.create({ kind: 'operator', role: 'admin', name: 'decommission-test' }, Date.now())).token;
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const operator = async (server: number, method: string, urlPath: string, body?: unknown) =>
    fetch(urls[server] + urlPath, { method, headers: { authorization: `Bearer ${admin}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  it('a device decommissioned through server A is refused by server B, whose caches held its credentials', async () => {
    const key = menderKey({ device_id: 'dec2-m', mac: '02:00:00:00:0d:02' });
    expect((await operator(0, 'POST', '/api/v1/mender/preauthorize', { identity: key.identity, pubkey: key.pem })).status).toBe(201);
    for (const id of ['dec2-p', 'dec2-h']) expect((await operator(0, 'POST', '/api/v1/devices', { id })).status).toBe(201);
    const tokens: Record<string, string> = {};
    for (const id of ['dec2-p', 'dec2-h']) tokens[id] = ((await (await operator(0, 'POST', `/api/v1/devices/${id}/token`)).json()) as { token: string }).token;
    // Server B authenticates each of them and caches what it can.
    const b = deviceCalls(urls[1]!);
    const jwt = (await menderAuth(urls[1]!, key)).text;
    expect((await b.inventory(jwt, 'PATCH')).status).toBe(200);
    expect((await b.state('dec2-p', tokens['dec2-p']!)).status).toBe(200);
    const first = await b.ddi('dec2-h', tokens['dec2-h']!);
    expect((await b.ddi('dec2-h', tokens['dec2-h']!, first.etag)).status).toBe(304);
    // Decommissioned through A. B hears of it as of a token revocation (the target-change NOTIFY,
    // delivered with the commit), within the bound several-servers.test.ts gives a deleted device.
    for (const id of ['dec2-m', 'dec2-p', 'dec2-h']) expect((await operator(0, 'DELETE', `/api/v1/devices/${id}`)).status).toBe(204);
    const refusedOnB = () => Promise.all([b.next(jwt), b.inventory(jwt, 'PUT'), b.state('dec2-p', tokens['dec2-p']!), b.ddi('dec2-h', tokens['dec2-h']!, first.etag), b.ddi('dec2-h', tokens['dec2-h']!)]).then((all) => all.map((r) => r.status));
    // The Mender JWT is checked against its auth set on every request: refused at once.
    expect((await b.next(jwt)).status).toBe(401);
    await waitFor('server B to refuse every credential', async () => (await refusedOnB()).every((s) => s === 401) || undefined, 5_000, 20);
    expect(await refusedOnB()).toEqual([401, 401, 401, 401, 401]);
    expect((await menderAuth(urls[1]!, key)).status).toBe(401);
    expect((await menderAuth(urls[1]!, menderKey(key.identity))).status).toBe(401);
  });
});
