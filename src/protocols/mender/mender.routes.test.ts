// The Mender device API with protocol-faithful requests (as mender-client sends them): signed auth
// requests with ECDSA and ed25519 keys, chunked bodies, preauthorization, next (v2 and v1) with
// device types respected, Range downloads, status with 409 after an abort, re-authentication.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';
import { postgresUnavailable } from '../../testing/postgres.js';
import { buildMenderArtifact } from './mender.fixtures.js';

interface DeviceKey {
  identity: Record<string, string>;
  pem: string;
  privateKey: KeyObject;
  type: 'ec' | 'ed25519';
}

function deviceKey(identity: Record<string, string>, type: 'ec' | 'ed25519'): DeviceKey {
  const pair = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { identity, pem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey: pair.privateKey, type };
}

const pgSkip = await postgresUnavailable();

describe.each([['sqlite'], ['postgres']] as const)('Mender device API (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let e: EngineApp;
  beforeAll(async () => {
    if (!skip) e = await startAppWithEngine({ pollIntervalSeconds: 1 }, undefined, db);
  });
  afterAll(async () => e?.close());

  /** POSTs a signed auth request, the body sent in 3 chunks (Transfer-Encoding: chunked). */
  async function authenticate(key: DeviceKey, tamper = false): Promise<{ status: number; token: string }> {
    const body = Buffer.from(JSON.stringify({ id_data: JSON.stringify(key.identity), pubkey: key.pem, tenant_token: '' }));
    const signature = sign(key.type === 'ed25519' ? null : 'sha256', body, key.privateKey).toString('base64');
    const sent = tamper ? Buffer.from(body.toString().replace('"tenant_token":""', '"tenant_token":"x"')) : body;
    const third = Math.ceil(sent.length / 3);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < sent.length; i += third) controller.enqueue(sent.subarray(i, i + third));
        controller.close();
      },
    });
    const response = await fetch(`${e.t.url}/api/devices/v1/authentication/auth_requests`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-men-signature': signature }, body: stream, duplex: 'half' } as RequestInit);
    return { status: response.status, token: await response.text() };
  }

  const call = (method: string, path: string, token: string, body?: unknown) =>
    e.t.request(method, path, { token: null, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { raw: JSON.stringify(body) } : {}) });
  const next = (token: string, provides: Record<string, string>) => call('POST', '/api/devices/v2/deployments/device/deployments/next', token, { device_provides: provides, update_control_map: false });
  const status = (token: string, id: string, value: string) => call('PUT', `/api/devices/v1/deployments/device/deployments/${id}/status`, token, { status: value });

  async function upload(version: string, bytes: Buffer): Promise<string> {
    const response = await e.t.request('POST', `/api/v1/artifacts?name=app&version=${version}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(201);
    return (response.json() as { id: string }).id;
  }

  it.skipIf(skip !== null)('refuses a bad signature, keeps an unknown key pending, and accepts a preauthorized ECDSA key at once', async () => {
    const key = deviceKey({ mac: '02:00:00:00:01:01', device_id: 'pos-ec' }, 'ec');
    expect((await authenticate(key, true)).status).toBe(401);
    expect((await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } })).status).toBe(201);
    expect((await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } })).status).toBe(409);
    const { status: code, token } = await authenticate(key);
    expect(code).toBe(200);
    expect(token.split('.')).toHaveLength(3);
    expect((await call('PUT', '/api/devices/v1/inventory/device/attributes', token, [{ name: 'device_type', value: 'pos' }, { name: 'artifact_name', value: 'app-1' }])).status).toBe(200);
    // Until a deployment of ours succeeds, the installed artifact name is the version we know.
    expect((await e.t.app.store.devices.get('pos-ec'))?.version).toBe('app-1');
    // The inventory's device_type is the device's type, which releases match against.
    expect((await e.t.app.store.devices.get('pos-ec'))?.deviceType).toBe('pos');
    expect((await call('PUT', '/api/devices/v1/inventory/device/attributes', token, { name: 'x' })).status).toBe(400);
    expect((await call('PUT', '/api/devices/v1/inventory/device/attributes', 'not.a.jwt', [])).status).toBe(401);
    const other = deviceKey({ mac: '02:00:00:00:01:02' }, 'ed25519');
    const pending = await authenticate(other);
    expect(pending.status).toBe(401);
    expect(pending.token).toMatch(/pending: an operator must accept it/);
  });

  it.skipIf(skip !== null)('serves the target when it fits the device (v2 and v1), with a Range download, and a re-authenticated client finishes it', async () => {
    const key = deviceKey({ mac: '02:00:00:00:02:01', device_id: 'pos-ed' }, 'ed25519');
    await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } });
    await e.t.request('PATCH', '/api/v1/devices/pos-ed', { body: { tags: { ring: 'ed' } } });
    let { token } = await authenticate(key);
    expect((await next(token, { device_type: 'pos', artifact_name: 'app-1' })).status).toBe(204);
    const bytes = buildMenderArtifact({ name: 'app-2', deviceTypes: ['pos'], files: [['app.bin', 'v2 payload']] });
    const artifactId = await upload('2.0.0', bytes);
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'pos-ed' && ev.type === 'execution.queued');
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:ed' } }, 'token:test');
    await queued;
    const v2 = await next(token, { device_type: 'pos', artifact_name: 'app-1' });
    expect(v2.status).toBe(200);
    const deployment = v2.json() as { id: string; artifact: { artifact_name: string; device_types_compatible: string[]; source: { uri: string; expire: string } } };
    expect(deployment.artifact).toMatchObject({ artifact_name: 'app-2', device_types_compatible: ['pos'] });
    const v1 = await e.t.request('GET', '/api/devices/v1/deployments/device/deployments/next?artifact_name=app-1&device_type=pos', { token: null, headers: { authorization: `Bearer ${token}` } });
    expect((v1.json() as { id: string }).id).toBe(deployment.id);
    // The source URI works without the device's token (signed) and honours Range.
    const part = await fetch(deployment.artifact.source.uri, { headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 100));
    expect((await status(token, deployment.id, 'downloading')).status).toBe(204);
    // The client authenticates again mid-deployment and carries on with its new token.
    token = (await authenticate(key)).token;
    expect((await status(token, deployment.id, 'installing')).status).toBe(204);
    expect((await status(token, deployment.id, 'finished')).status).toBe(400);
    const done = nextEvent(e.t.app.events, (ev) => ev.rolloutId === rollout.id && ev.type === 'rollout.completed');
    expect((await status(token, deployment.id, 'success')).status).toBe(204);
    await done;
    expect((await e.t.app.store.devices.get('pos-ed'))?.version).toBe('2.0.0');
    // The inventory's artifact name is only a hint: a known version stays.
    expect((await call('PATCH', '/api/devices/v1/inventory/device/attributes', token, [{ name: 'artifact_name', value: 'app-2' }])).status).toBe(200);
    expect((await e.t.app.store.devices.get('pos-ed'))?.version).toBe('2.0.0');
    expect((await next(token, { device_type: 'pos', artifact_name: 'app-2' })).status).toBe(204);
  });

  it.skipIf(skip !== null)('answers 409 to a status report after an operator aborted the deployment', async () => {
    const key = deviceKey({ mac: '02:00:00:00:03:01', device_id: 'pos-abort' }, 'ec');
    await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } });
    await e.t.request('PATCH', '/api/v1/devices/pos-abort', { body: { tags: { ring: 'abort' } } });
    const { token } = await authenticate(key);
    const artifactId = await upload('3.0.0', buildMenderArtifact({ name: 'app-3', deviceTypes: ['pos'], files: [['app.bin', 'v3']] }));
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'pos-abort' && ev.type === 'execution.queued');
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:abort' } }, 'token:test');
    await queued;
    const deployment = (await next(token, { device_type: 'pos', artifact_name: 'app-1' })).json() as { id: string };
    expect((await status(token, deployment.id, 'downloading')).status).toBe(204);
    await e.rollouts.cancel(rollout.id, 'token:test');
    expect((await status(token, deployment.id, 'installing')).status).toBe(409);
    // Another device's deployment is not this one's to report on: 404, and no version recorded.
    expect((await status(token, 'no-such-deployment', 'success')).status).toBe(404);
    expect((await e.t.app.store.devices.get('pos-abort'))?.version).toBeNull();
    // It installed all the same before the abort reached it: the execution stays cancelled, the
    // device runs the version.
    expect((await status(token, deployment.id, 'success')).status).toBe(204);
    expect(await e.t.app.store.executions.get(deployment.id)).toMatchObject({ state: 'cancelled', installedAfterCancel: true });
    expect((await e.t.app.store.devices.get('pos-abort'))?.version).toBe('3.0.0');
  });

  it.skipIf(skip !== null)('ends a target the device already runs as succeeded and records its version', async () => {
    const key = deviceKey({ mac: '02:00:00:00:04:01', device_id: 'pos-same' }, 'ec');
    await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } });
    await e.t.request('PATCH', '/api/v1/devices/pos-same', { body: { tags: { ring: 'same' } } });
    const { token } = await authenticate(key);
    const artifactId = await upload('4.5.0', buildMenderArtifact({ name: 'app-45', deviceTypes: ['pos'], files: [['app.bin', 'v4']] }));
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'pos-same' && ev.type === 'execution.queued');
    await e.rollouts.create({ artifactId, filter: { tag: 'ring:same' } }, 'token:test');
    const executionId = (await queued).executionId!;
    expect((await next(token, { device_type: 'pos', artifact_name: 'app-45' })).status).toBe(204);
    expect((await e.t.app.store.executions.get(executionId))?.state).toBe('succeeded');
    expect((await e.t.app.store.devices.get('pos-same'))?.version).toBe('4.5.0');
  });

  it.skipIf(skip !== null)('puts the reason from the deployment log in the failed execution, whether the log comes after the failure or before it', async () => {
    const key = deviceKey({ mac: '02:00:00:00:05:01', device_id: 'pos-log' }, 'ec');
    await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } });
    await e.t.request('PATCH', '/api/v1/devices/pos-log', { body: { tags: { ring: 'log' } } });
    const { token } = await authenticate(key);
    const messages = [
      { timestamp: '2026-12-02T04:47:58Z', level: 'info', message: 'State transition: update-store [Download_Enter] -> update-install [ArtifactInstall]' },
      { timestamp: '2026-12-02T04:47:58Z', level: 'info', message: 'Output (stderr) from command "script": no space left on device' },
      { timestamp: '2026-12-02T04:47:58Z', level: 'error', message: 'Update module terminated abnormally: exit status 1' },
    ];
    for (const [version, order] of [['6.0.0', 'log after'], ['6.1.0', 'log before']] as const) {
      const artifactId = await upload(version, buildMenderArtifact({ name: `app-${version}`, deviceTypes: ['pos'], files: [['app.bin', version]] }));
      const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'pos-log' && ev.type === 'execution.queued');
      const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:log' } }, 'token:test');
      await queued;
      const deployment = (await next(token, { device_type: 'pos', artifact_name: 'app-1' })).json() as { id: string };
      const log = () => call('PUT', `/api/devices/v1/deployments/device/deployments/${deployment.id}/log`, token, { messages });
      const failure = () => call('PUT', `/api/devices/v1/deployments/device/deployments/${deployment.id}/status`, token, { status: 'failure', substate: 'ArtifactInstall' });
      const logged = nextEvent(e.t.app.events, (ev) => ev.executionId === deployment.id && ev.type === 'mender.deployment-log');
      for (const step of order === 'log after' ? [failure, log] : [log, failure]) expect((await step()).status).toBe(204);
      const event = await logged;
      expect(event.rolloutId, order).toBe(rollout.id);
      const [execution] = await e.t.app.store.executions.list(rollout.id, { limit: 1 });
      expect(execution, order).toMatchObject({ state: 'failed', error: 'the device reported failure (ArtifactInstall): info Output (stderr) from command "script": no space left on device | error Update module terminated abnormally: exit status 1' });
    }
    // Someone else's deployment log is refused.
    expect((await call('PUT', '/api/devices/v1/deployments/device/deployments/not-mine/log', token, { messages })).status).toBe(404);
  });

  it.skipIf(skip !== null)('ends a deployment the device cannot take: another device type, or not a Mender artifact', async () => {
    const key = deviceKey({ mac: '02:00:00:00:04:01', device_id: 'kiosk-1' }, 'ed25519');
    await e.t.request('POST', '/api/v1/mender/preauthorize', { token: e.t.tokens.operator, body: { identity: key.identity, pubkey: key.pem } });
    await e.t.request('PATCH', '/api/v1/devices/kiosk-1', { body: { tags: { ring: 'kiosk' } } });
    const { token } = await authenticate(key);
    for (const [version, bytes, reason] of [
      ['4.0.0', buildMenderArtifact({ name: 'app-4', deviceTypes: ['pos'], files: [['a', 'b']] }), /for device types pos, not 'kiosk'/],
      ['5.0.0', Buffer.from('plain firmware'), /is not a Mender artifact/],
    ] as const) {
      const artifactId = await upload(version, bytes);
      const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'kiosk-1' && ev.type === 'execution.queued');
      const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:kiosk' } }, 'token:test');
      await queued;
      expect((await next(token, { device_type: 'kiosk', artifact_name: 'k-1' })).status).toBe(204);
      const [execution] = await e.t.app.store.executions.list(rollout.id, { limit: 1 });
      expect(execution).toMatchObject({ state: 'failed' });
      expect(execution!.error).toMatch(reason);
    }
  });
});
