// Pause and cancel on the hawkBit DDI and Mender download paths, with the requests SWUpdate and
// mender-client send, through the real engine: a download started before a pause is served to the
// end (Range) and its success counts, a device that had not started gets nothing while paused, and
// a device that reports success after a cancel is recorded as installed anyway with its version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { menderDevice } from '../testing/mender-device.js';
import { buildMenderArtifact } from './mender/mender.fixtures.js';

const pgSkip = await postgresUnavailable();

describe.each([['sqlite'], ['postgres']] as const)('pause and cancel on the protocol download paths (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let e: EngineApp;
  beforeAll(async () => {
    if (!skip) e = await startAppWithEngine({ pollIntervalSeconds: 1 }, undefined, db);
  });
  afterAll(async () => e?.close());

  const op = (method: string, path: string) => e.t.request(method, path, { token: e.t.tokens.operator });
  async function upload(name: string, version: string, bytes: Buffer): Promise<string> {
    const response = await e.t.request('POST', `/api/v1/artifacts?name=${name}&version=${version}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(201);
    return (response.json() as { id: string }).id;
  }
  async function rollout(artifactId: string, ids: string[]): Promise<string> {
    const released = Promise.all(ids.map((id) => nextEvent(e.t.app.events, (ev) => ev.deviceId === id && ev.type === 'execution.queued')));
    const created = await e.rollouts.create({ artifactId, filter: { ids } }, 'token:test');
    await released;
    return created.id;
  }
  const state = async (rolloutId: string, deviceId: string) => (await e.t.app.store.executions.inRollout(rolloutId, deviceId))!;

  describe('hawkBit DDI', () => {
    async function controller(id: string) {
      expect((await e.t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull' } })).status).toBe(201);
      const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
      /** A path under the controller's base, or a link the server gave (absolute URL). */
      const ddi = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
        e.t.request(method, path.startsWith('http') ? new URL(path).pathname : `/DEFAULT/controller/v1/${id}${path}`, { token: null, headers: { authorization: `TargetToken ${token}`, ...headers }, ...(body !== undefined ? { body } : {}) });
      const links = async () => ((await ddi('GET', '')).json() as { _links: Record<string, { href: string }> })._links;
      return { ddi, links };
    }
    const feedback = (execution: string, finished: string) => ({ id: '1', status: { execution, result: { finished }, details: [] } });

    it.skipIf(skip !== null)('serves a download started before the pause to its end, and its success counts', async () => {
      const started = await controller(`ddi-started-${db}`);
      const idle = await controller(`ddi-idle-${db}`);
      const bytes = Buffer.alloc(200_000, 7);
      const id = await rollout(await upload('ddi-fw', `1.${db.length}.0`, bytes), [`ddi-started-${db}`, `ddi-idle-${db}`]);
      const deployment = (await started.ddi('GET', (await started.links()).deploymentBase!.href)).json() as { id: string; deployment: { chunks: { artifacts: { _links: { 'download-http': { href: string } } }[] }[] } };
      const href = deployment.deployment.chunks[0]!.artifacts[0]!._links['download-http'].href;
      const first = await started.ddi('GET', href, undefined, { range: 'bytes=0-99999' });
      expect(first.status).toBe(206);
      expect((await state(id, `ddi-started-${db}`)).state).toBe('downloading');
      expect((await op('POST', `/api/v1/rollouts/${id}/pause`)).status).toBe(200);
      // The device that had not started is offered nothing now; the started one is.
      expect(Object.keys(await idle.links())).not.toContain('deploymentBase');
      const rest = await started.ddi('GET', href, undefined, { range: 'bytes=100000-' });
      expect(rest.status).toBe(206);
      expect(rest.headers.get('content-range')).toBe('bytes 100000-199999/200000');
      expect((await started.ddi('POST', `/deploymentBase/${deployment.id}/feedback`, feedback('closed', 'success'))).status).toBe(200);
      expect(await e.rollouts.get(id)).toMatchObject({ status: 'paused', counts: { succeeded: 1, pending: 1 } });
    });

    it.skipIf(skip !== null)('records a closed/success after the cancel as installed anyway, with the version, and clears the cancel', async () => {
      const d = await controller(`ddi-late-${db}`);
      const id = await rollout(await upload('ddi-late', `2.${db.length}.0`, Buffer.from('late')), [`ddi-late-${db}`]);
      const deploymentId = (await d.links()).deploymentBase!.href.match(/deploymentBase\/(\d+)/)![1]!;
      expect((await d.ddi('GET', `/deploymentBase/${deploymentId}`)).status).toBe(200);
      expect((await d.ddi('POST', `/deploymentBase/${deploymentId}/feedback`, feedback('proceeding', 'none'))).status).toBe(200);
      expect((await op('POST', `/api/v1/rollouts/${id}/cancel`)).status).toBe(200);
      expect(Object.keys(await d.links())).toContain('cancelAction');
      // The install could not be interrupted: the device reports it finished.
      expect((await d.ddi('POST', `/deploymentBase/${deploymentId}/feedback`, feedback('closed', 'success'))).status).toBe(200);
      expect(await state(id, `ddi-late-${db}`)).toMatchObject({ state: 'cancelled', installedAfterCancel: true, note: `the device installed ddi-late 2.${db.length}.0 before the cancel reached it` });
      expect((await e.t.app.store.devices.get(`ddi-late-${db}`))?.version).toBe(`2.${db.length}.0`);
      expect(Object.keys(await d.links())).not.toContain('cancelAction');
    });
  });

  describe('Mender', () => {
    it.skipIf(skip !== null)('serves the rest of a download started before the pause, and records a success after a cancel as installed anyway', async () => {
      const deviceId = `mender-${db}`;
      const device = await menderDevice(e.t, { mac: `02:00:00:00:0${db.length}:01`, device_id: deviceId });
      const provides = { device_type: 'pos', artifact_name: 'app-1' };
      const bytes = buildMenderArtifact({ name: 'app-2', deviceTypes: ['pos'], files: [['app.bin', 'v2 payload '.repeat(2000)]] });
      const id = await rollout(await upload('menapp', `2.${db.length}.0`, bytes), [deviceId]);
      const deployment = (await device.next(provides)).json() as { id: string; artifact: { source: { uri: string } } };
      expect(await device.status(deployment.id, 'downloading')).toBe(204);
      const first = await fetch(deployment.artifact.source.uri, { headers: { range: 'bytes=0-999' } });
      expect(first.status).toBe(206);
      await first.arrayBuffer();
      expect((await op('POST', `/api/v1/rollouts/${id}/pause`)).status).toBe(200);
      const rest = await fetch(deployment.artifact.source.uri, { headers: { range: 'bytes=1000-' } });
      expect(rest.status).toBe(206);
      expect(Buffer.from(await rest.arrayBuffer())).toEqual(bytes.subarray(1000));
      expect(await device.status(deployment.id, 'installing')).toBe(204);
      expect(await device.status(deployment.id, 'success')).toBe(204);
      expect(await e.rollouts.get(id)).toMatchObject({ status: 'paused', counts: { succeeded: 1 } });

      const late = await rollout(await upload('menapp', `3.${db.length}.0`, buildMenderArtifact({ name: 'app-3', deviceTypes: ['pos'], files: [['app.bin', 'v3']] })), [deviceId]);
      const third = (await device.next({ device_type: 'pos', artifact_name: 'app-2' })).json() as { id: string };
      expect(await device.status(third.id, 'downloading')).toBe(204);
      expect(await device.status(third.id, 'installing')).toBe(204);
      expect((await op('POST', `/api/v1/rollouts/${late}/cancel`)).status).toBe(200);
      // mender-client cannot interrupt ArtifactInstall: it reboots, commits and reports success.
      expect(await device.status(third.id, 'rebooting')).toBe(409);
      expect(await device.status(third.id, 'success')).toBe(204);
      expect(await state(late, deviceId)).toMatchObject({ state: 'cancelled', installedAfterCancel: true });
      expect((await e.t.app.store.devices.get(deviceId))?.version).toBe(`3.${db.length}.0`);
    });
  });
});
