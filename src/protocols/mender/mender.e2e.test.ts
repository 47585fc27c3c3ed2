// The real mender-client against our server and engine: it authenticates with a signed request,
// waits as pending until an operator accepts it, sends its inventory, installs a single-file
// artifact built with mender-artifact and reports success; a failing artifact ends in `failed`
// with the deployment log the client uploads.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/index.js';
import { nextEvent } from '../../testing/engine.js';
import { requirePeer } from '../../testing/peers.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';
import { menderClientUnavailable, startMenderClient, waitFor, type MenderClient } from '../../testing/mender-client.js';

const unavailable = requirePeer('mender-client', menderClientUnavailable());
const SINGLE_FILE_GEN = '/usr/share/doc/mender-client/examples/single-file-artifact-gen';

describe.skipIf(unavailable !== null)('mender-client (real client)', () => {
  let e: EngineApp;
  let client: MenderClient | undefined;
  let dir: string;
  let deviceId: string;
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 1 });
    dir = fs.mkdtempSync('/var/tmp/uo-mender-e2e-');
  });
  afterAll(async () => {
    await client?.stop();
    await e?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const event = (match: (ev: EventRecord) => boolean, timeoutMs = 90_000) => nextEvent(e.t.app.events, match, timeoutMs);

  async function upload(name: string, version: string, file: string): Promise<string> {
    const response = await e.t.request('POST', `/api/v1/artifacts?name=${name}&version=${version}`, { raw: fs.readFileSync(file), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(201);
    return (response.json() as { id: string }).id;
  }

  it('authenticates, waits pending until accepted, then reports its inventory', async () => {
    const pending = event((ev) => ev.type === 'mender.auth-pending');
    client = startMenderClient({ serverUrl: e.t.url, identity: { mac: '02:00:00:00:00:42' }, deviceType: 'test-dev', artifactName: 'release-1' });
    deviceId = (await pending).deviceId!;
    expect(deviceId).toMatch(/^mender-[0-9a-f]{16}$/);
    expect((await e.t.request('GET', `/api/v1/devices/${deviceId}`)).status).toBe(404);
    const sets = (await e.t.request('GET', '/api/v1/mender/auth-sets?status=pending', { token: e.t.tokens.viewer })).json() as { items: Array<{ id: string; deviceId: string; identity: unknown; pubkey: string }> };
    expect(sets.items).toHaveLength(1);
    expect(sets.items[0]).toMatchObject({ deviceId, identity: { mac: '02:00:00:00:00:42' } });
    expect(sets.items[0]!.pubkey).toMatch(/BEGIN PUBLIC KEY/);
    expect((await e.t.request('POST', `/api/v1/mender/auth-sets/${sets.items[0]!.id}/accept`, { token: e.t.tokens.viewer })).status).toBe(403);
    expect((await e.t.request('POST', `/api/v1/mender/auth-sets/${sets.items[0]!.id}/accept`, { token: e.t.tokens.operator })).status).toBe(200);
    const inventory = await waitFor('the inventory', async () => {
      const report = await e.t.app.store.deviceReports.get(deviceId);
      return report?.inventory.device_type ? report.inventory : undefined;
    });
    expect(inventory).toMatchObject({ device_type: 'test-dev', artifact_name: 'release-1' });
    const device = (await e.t.request('GET', `/api/v1/devices/${deviceId}`)).json() as { id: string; mode: string; version: string | null };
    expect(device).toMatchObject({ id: deviceId, mode: 'pull', version: 'release-1' });
    expect(await e.t.app.store.devices.protocol(deviceId)).toBe('mender');
    expect((await e.t.request('PATCH', `/api/v1/devices/${deviceId}`, { body: { tags: { ring: 'mender' } } })).status).toBe(200);
  }, 120_000);

  it('installs a single-file artifact built with mender-artifact and reports success', async () => {
    const dest = path.join(dir, 'installed');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dir, 'app.conf'), 'setting = 2\n');
    const file = path.join(dir, 'release-2.mender');
    execFileSync('sh', [SINGLE_FILE_GEN, '-n', 'release-2', '-t', 'test-dev', '-d', dest, '-o', file, path.join(dir, 'app.conf')], { stdio: 'pipe' });
    const artifactId = await upload('app', '2.0.0', file);
    const succeeded = event((ev) => ev.deviceId === deviceId && ev.type === 'execution.succeeded');
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:mender' } }, 'token:test');
    await succeeded;
    expect(fs.readFileSync(path.join(dest, 'app.conf'), 'utf8')).toBe('setting = 2\n');
    const history = (await e.t.app.store.events.list({ rolloutId: rollout.id, deviceId, limit: 100 })).map((ev) => ev.type);
    expect(history).toEqual(expect.arrayContaining(['execution.downloading', 'execution.installing', 'execution.succeeded']));
    // Recorded right after the transition (the event is published first).
    await waitFor('the device version', async () => (await e.t.app.store.devices.get(deviceId))?.version === '2.0.0');
    // The client now reports the new artifact name.
    await waitFor('the new artifact name in the inventory', async () => (await e.t.app.store.deviceReports.get(deviceId))?.inventory.artifact_name === 'release-2');
  }, 120_000);

  it('ends a failing artifact in failed and keeps the deployment log the client uploads', async () => {
    const script = path.join(dir, 'fail.sh');
    fs.writeFileSync(script, '#!/bin/sh\necho "checking the disk"\necho "disk full: cannot install" >&2\nexit 3\n', { mode: 0o755 });
    const file = path.join(dir, 'release-3.mender');
    execFileSync('mender-artifact', ['write', 'module-image', '-T', 'script', '-n', 'release-3', '-t', 'test-dev', '-o', file, '-f', script], { stdio: 'pipe' });
    const artifactId = await upload('app', '3.0.0', file);
    const failed = event((ev) => ev.deviceId === deviceId && ev.type === 'execution.failed');
    const logged = event((ev) => ev.deviceId === deviceId && ev.type === 'mender.deployment-log');
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:mender' } }, 'token:test');
    await failed;
    const log = await logged;
    const [execution] = await e.t.app.store.executions.list(rollout.id, { limit: 1 });
    expect(log.executionId).toBe(execution!.id);
    expect(log.rolloutId).toBe(rollout.id);
    expect((log.data.lines as string[]).join('\n')).toMatch(/disk full: cannot install/);
    expect(execution).toMatchObject({ state: 'failed' });
    // The reason from the log the client uploaded after reporting the failure, not a pointer to it.
    expect(execution!.error).toMatch(/^the device reported failure.*: .*disk full: cannot install.* \| .*Update module terminated abnormally: exit status 3/);
    expect(execution!.error).not.toMatch(/State transition|its deployment log follows/);
    expect(log.data.error).toBe(execution!.error);
    // The operator API shows the same.
    const listed = (await e.t.request('GET', `/api/v1/rollouts/${rollout.id}/devices`, { token: e.t.tokens.viewer })).json() as { items: Array<{ error: string | null }> };
    expect(listed.items[0]!.error).toBe(execution!.error);
    expect((await e.t.app.store.devices.get(deviceId))?.version).toBe('2.0.0');
  }, 120_000);
});
