// Several components on one device (issue 15 item 4) from the attacker's side: the component
// artifacts of one device's execution are served to that device only (by the agent download route
// and by hawkBit's), not to another device, not without a token; a multi-component target gives an
// agent that does not know `components` nothing it could install (no top-level hash or URL).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceAgent } from '../agent/device-agent.js';
import { silentLog } from '../agent/log.js';
import type { TargetState } from '../core/index.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { waitFor } from '../testing/mender-client.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';

describe('multi-component targets: who may fetch the components', () => {
  let e: EngineApp;
  let dir: string;
  const tokens: Record<string, string> = {};
  let appId = '';
  let controllerToken = '';
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-sec-components-'));
    for (const id of ['owner', 'other']) {
      tokens[id] = await addPullDevice(e.t.app, id);
      const agent = createDeviceAgent({ server: e.t.url, deviceId: id, token: tokens[id], dir: path.join(dir, id), deviceType: 'kiosk' }, silentLog);
      await agent.init();
      await agent.round();
    }
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id: 'ctl-x', mode: 'pull' } })).status).toBe(201);
    controllerToken = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: 'ctl-x', name: 'ctl-x' }, Date.now())).token;
    const osArtifact = await uploadArtifact(e.t.app, Buffer.from('os 9'), { name: 'sec-os', version: '9' });
    const app = await uploadArtifact(e.t.app, Buffer.from('app 9'), { name: 'sec-app', version: '9' });
    appId = app.id;
    const release = await e.t.request('POST', '/api/v1/releases', {
      token: e.t.tokens.operator,
      body: { name: 'sec', version: '9', artifacts: [{ artifactId: osArtifact.id, component: 'os', match: { protocol: ['agent'] } }, { artifactId: app.id, component: 'app', match: { protocol: ['agent'] } }] },
    });
    expect(release.status).toBe(201);
    await e.rollouts.create({ releaseId: (release.json() as { id: string }).id, filter: { ids: ['owner'] } });
    await waitFor('the owner to be released its update', async () => ((await state('owner')).update ? true : undefined));
  });
  afterAll(async () => {
    await e?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const state = async (id: string) => (await e.t.request('GET', `/api/v1/device/${id}/state`, { token: tokens[id] })).json() as TargetState;

  it('serves a later component to the device whose execution it is in, and to nobody else', async () => {
    const url = `/api/v1/device/artifacts/${encodeURIComponent(appId)}`;
    expect((await e.t.request('GET', url, { token: null })).status).toBe(401);
    const stranger = await e.t.request('GET', url, { token: tokens.other });
    expect(stranger.status).toBeGreaterThanOrEqual(403);
    expect(stranger.status).toBeLessThan(405);
    // hawkBit: another device's controller cannot fetch it through its software module either.
    const ddi = await e.t.request('GET', `/DEFAULT/controller/v1/ctl-x/softwaremodules/${encodeURIComponent(appId)}/artifacts/sec-app-9`, { token: null, headers: { authorization: `TargetToken ${controllerToken}` } });
    expect([403, 404]).toContain(ddi.status);
    const owner = await e.t.request('GET', url, { token: tokens.owner });
    expect(owner.status).toBe(200);
    expect(owner.text).toBe('app 9');
  });

  it('gives nothing installable at the top level of a multi-component target, and no target to another device', async () => {
    const update = (await state('owner')).update!;
    expect(update).toMatchObject({ sha256: null, downloadUrl: null, imageRef: null, signature: null });
    expect(update.components?.map((c) => c.component)).toEqual(['os', 'app']);
    expect((await state('other')).update).toBeNull();
  });
});
