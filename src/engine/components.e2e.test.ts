// Issue 15's "Done when", with the real clients: one rollout of one release updates two SWUpdate
// devices over hawkBit DDI (the .swu), one mender-client device (the .mender) and two agents (one
// gets two components, os then app; the other os alone). Every device ends running its artifact,
// the rollout shows 5 of 5 delivered devices succeeded, a device type the release has nothing for
// is skipped with its reason, and the dry run predicted exactly that. Then a release whose second
// component fails to install on the agent rolls both of its components back.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceAgent } from '../agent/device-agent.js';
import { silentLog } from '../agent/log.js';
import type { RolloutView } from '../core/index.js';
import { nextEvent } from '../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { menderClientUnavailable, startMenderClient, waitFor, type MenderClient } from '../testing/mender-client.js';
import { requirePeer } from '../testing/peers.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';
import { buildSignedSwu, createSwuSigner, startSwupdate, swupdateUnavailable, type SwupdateClient, type SwupdateOptions } from '../testing/swupdate-client.js';

const unavailable = requirePeer('SWUpdate', swupdateUnavailable()) ?? requirePeer('mender-client', menderClientUnavailable());
const SINGLE_FILE_GEN = '/usr/share/doc/mender-client/examples/single-file-artifact-gen';

describe.skipIf(unavailable !== null)('one release over SWUpdate, mender-client and agents (real clients)', () => {
  let e: EngineApp;
  let dir: string;
  let mender: MenderClient | undefined;
  const swupdates: SwupdateClient[] = [];
  const stopAgents = new AbortController();
  const running: Promise<void>[] = [];
  let agentDirs: Record<string, string> = {};
  const component = (id: string, c: string) => fs.readFileSync(path.join(agentDirs[id]!, 'components', c, 'current'), 'utf8');
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 1 });
    dir = fs.mkdtempSync('/var/tmp/uo-components-e2e-');
  });
  afterAll(async () => {
    stopAgents.abort();
    await Promise.all(running);
    for (const c of swupdates) await c.stop();
    await mender?.stop();
    await e?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const tag = (id: string) => e.t.request('PATCH', `/api/v1/devices/${id}`, { body: { tags: { fleet: 'five' } } });

  it('updates every device with its own artifacts in one rollout, as the dry run predicted', async () => {
    const signer = createSwuSigner(dir);
    // Two SWUpdate devices whose identify section says their device type.
    const swu: SwupdateOptions[] = [];
    for (const id of ['swu-a', 'swu-b']) {
      const root = path.join(dir, id);
      fs.mkdirSync(root);
      expect((await e.t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { fleet: 'five' } } })).status).toBe(201);
      const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
      swu.push({ serverUrl: e.t.url, tenant: 'DEFAULT', controllerId: id, token: { type: 'target', value: token }, cert: signer.cert, targetDir: root, identify: { device_type: 'swu-board' } });
    }
    for (const o of swu) swupdates.push(startSwupdate(dir, o));
    for (const o of swu) await waitFor(`${o.controllerId}'s device type`, async () => (await e.t.app.store.devices.get(o.controllerId))?.deviceType === 'swu-board');

    // A mender-client device, accepted, of type test-dev.
    const pending = nextEvent(e.t.app.events, (ev) => ev.type === 'mender.auth-pending', 90_000);
    mender = startMenderClient({ serverUrl: e.t.url, identity: { mac: '02:00:00:00:15:04' }, deviceType: 'test-dev', artifactName: 'five-0.9' });
    const menderId = (await pending).deviceId!;
    const sets = (await e.t.request('GET', '/api/v1/mender/auth-sets?status=pending')).json() as { items: { id: string }[] };
    expect((await e.t.request('POST', `/api/v1/mender/auth-sets/${sets.items[0]!.id}/accept`, { token: e.t.tokens.operator })).status).toBe(200);
    await waitFor('the Mender device type', async () => (await e.t.app.store.devices.get(menderId))?.deviceType === 'test-dev');
    expect((await tag(menderId)).status).toBe(200);

    // Two agents: kiosk-pro gets os and app, kiosk-basic os alone; and a device type with nothing.
    agentDirs = {};
    for (const [id, type] of [['agent-pro', 'kiosk-pro'], ['agent-basic', 'kiosk-basic']] as const) {
      const token = await addPullDevice(e.t.app, id);
      expect((await tag(id)).status).toBe(200);
      agentDirs[id] = path.join(dir, id);
      const agent = createDeviceAgent({ server: e.t.url, deviceId: id, token, dir: agentDirs[id], deviceType: type }, silentLog);
      await agent.init();
      await agent.round();
      running.push(agent.run(stopAgents.signal));
    }
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id: 'toaster-1', mode: 'pull', deviceType: 'toaster', tags: { fleet: 'five' } } })).status).toBe(201);

    // The release: os for each kind of device, app for kiosk-pro agents only.
    const swuBytes = buildSignedSwu(signer, '1.0', { 'os.txt': 'five os 1.0 (swu)\n' });
    const swuId = await upload('five-os-swu', '1.0', swuBytes);
    fs.writeFileSync(path.join(dir, 'os.conf'), 'five os 1.0 (mender)\n');
    const menderDest = path.join(dir, 'mender-installed');
    fs.mkdirSync(menderDest);
    const menderFile = path.join(dir, 'five-1.0.mender');
    execFileSync('sh', [SINGLE_FILE_GEN, '-n', 'five-1.0', '-t', 'test-dev', '-d', menderDest, '-o', menderFile, path.join(dir, 'os.conf')], { stdio: 'pipe' });
    const menderArtifactId = await upload('five-os-mender', '1.0', fs.readFileSync(menderFile));
    const osBin = await uploadArtifact(e.t.app, Buffer.from('five os 1.0 (agent)'), { name: 'five-os', version: '1.0' });
    const appBin = await uploadArtifact(e.t.app, Buffer.from('five app 1.0'), { name: 'five-app', version: '1.0' });
    const created = await e.t.request('POST', '/api/v1/releases', {
      token: e.t.tokens.operator,
      body: {
        name: 'five',
        version: '1.0',
        artifacts: [
          { artifactId: swuId, component: 'os', match: { protocol: ['hawkbit'], deviceType: 'swu-board' } },
          { artifactId: menderArtifactId, component: 'os' },
          { artifactId: osBin.id, component: 'os', match: { protocol: ['agent'], deviceType: 'kiosk-*' } },
          { artifactId: appBin.id, component: 'app', match: { protocol: ['agent'], deviceType: 'kiosk-pro' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    const spec = { releaseId: (created.json() as { id: string }).id, filter: { tag: 'fleet=five' } };
    const skipped = [{ reason: 'no artifact of release five 1.0 for device type toaster over the agent', devices: 1 }];
    const dry = await e.t.request('POST', '/api/v1/rollouts?dryRun=true', { token: e.t.tokens.operator, body: spec });
    expect(dry.json()).toEqual({ total: 6, byArtifact: { [swuId]: 2, [menderArtifactId]: 1, [osBin.id]: 2, [appBin.id]: 1 }, skipped });

    // Listening before the start: the SWUpdate devices take part in no other rollout.
    const verifying = swu.map((o) => nextEvent(e.t.app.events, (ev) => ev.deviceId === o.controllerId && ev.type === 'execution.verifying', 120_000));
    const rollout = await e.rollouts.create(spec);
    // SWUpdate installs, waits for the "reboot" that confirms it, and closes the action after it.
    const done = await explainOnFailure(
      rollout.id,
      (async () => {
        await Promise.all(
          swu.map(async (o, i) => {
            expect((await verifying[i]!).rolloutId).toBe(rollout.id);
            await swupdates[i]!.waitForOutput(/already installed update is pending testing/);
            await swupdates[i]!.stop();
            swupdates.push(startSwupdate(dir, { ...o, confirm: '2' }));
          }),
        );
        return waitFor(
          'the rollout to complete',
          async () => {
            const v = (await e.t.request('GET', `/api/v1/rollouts/${rollout.id}`)).json() as RolloutView;
            return v.status === 'completed' ? v : undefined;
          },
          120_000,
          250,
        );
      })(),
    );
    expect(done.counts).toEqual({ succeeded: 5, skipped: 1 });
    expect(done.progress).toMatchObject({ total: 6, finished: 6, succeeded: 5, failed: 0 });
    const executions = await e.t.app.store.executions.list(rollout.id, { limit: 10 });
    expect(executions.find((x) => x.deviceId === 'toaster-1')).toMatchObject({ state: 'skipped', note: skipped[0]!.reason });
    // The real run wrote what the dry run predicted: one execution per device, components per device.
    const real: Record<string, number> = {};
    for (const x of executions.filter((x) => x.state !== 'skipped')) {
      const parts = await e.t.app.store.executions.componentsOf(rollout.id, x.deviceId);
      for (const id of parts.length ? parts.map((p) => p.artifactId) : [x.artifactId]) real[id] = (real[id] ?? 0) + 1;
    }
    expect(real).toEqual((dry.json() as { byArtifact: Record<string, number> }).byArtifact);

    // Every device runs its artifacts.
    for (const o of swu) expect(fs.readFileSync(path.join(o.targetDir!, 'os.txt'), 'utf8')).toBe('five os 1.0 (swu)\n');
    expect(fs.readFileSync(path.join(menderDest, 'os.conf'), 'utf8')).toBe('five os 1.0 (mender)\n');
    expect(component('agent-pro', 'os')).toBe('five os 1.0 (agent)');
    expect(component('agent-pro', 'app')).toBe('five app 1.0');
    expect(fs.readFileSync(path.join(agentDirs['agent-basic']!, 'current'), 'utf8')).toBe('five os 1.0 (agent)');
    await waitFor('the versions', async () => {
      const versions = await Promise.all(['swu-a', 'swu-b', 'agent-pro', 'agent-basic'].map(async (id) => (await e.t.app.store.devices.get(id))?.version));
      return versions.every((v) => v === '1.0') || undefined;
    });
  }, 300_000);

  it("rolls both of the agent's components back when the second fails to install", async () => {
    const osBin = await uploadArtifact(e.t.app, Buffer.from('five os 1.1 (agent)'), { name: 'five-os', version: '1.1' });
    // A file name the file handler refuses: app fails after os was switched.
    const appBin = await uploadArtifact(e.t.app, Buffer.from('five app 1.1'), { name: 'five-app', version: '1.1', metadata: { install: { handler: 'file', settings: { fileName: '..' } } } });
    const created = await e.t.request('POST', '/api/v1/releases', {
      token: e.t.tokens.operator,
      body: { name: 'five', version: '1.1', artifacts: [{ artifactId: osBin.id, component: 'os', match: { protocol: ['agent'] } }, { artifactId: appBin.id, component: 'app', match: { protocol: ['agent'] } }] },
    });
    expect(created.status).toBe(201);
    const rollout = await e.rollouts.create({ releaseId: (created.json() as { id: string }).id, filter: { ids: ['agent-pro'] }, retry: { maxAttempts: 1 } });
    const done = await waitFor('the rollout to finish', async () => {
      const v = (await e.t.request('GET', `/api/v1/rollouts/${rollout.id}`)).json() as RolloutView;
      return v.status === 'completed' ? v : undefined;
    });
    expect(done.counts).toEqual({ 'rolled-back': 1 });
    const [execution] = await e.t.app.store.executions.list(rollout.id, { limit: 1 });
    expect(execution!.error).toMatch(/^component app \(five-app 1\.1\): install failed/);
    expect(component('agent-pro', 'os')).toBe('five os 1.0 (agent)');
    expect(component('agent-pro', 'app')).toBe('five app 1.0');
    expect((await e.t.app.store.devices.get('agent-pro'))?.version).toBe('1.0');
  }, 120_000);

  /** On failure, shows where each execution and real client stood (these tests drive real processes). */
  async function explainOnFailure<T>(rolloutId: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      const executions = await e.t.app.store.executions.list(rolloutId, { limit: 100 });
      const tails = [...swupdates.map((c) => c.output()), mender?.output() ?? ''].map((o) => o.split('\n').filter((l) => !/MTD|lua_report/.test(l)).slice(-15).join('\n'));
      throw new Error(`${(error as Error).message}\nexecutions: ${JSON.stringify(executions.map((x) => [x.deviceId, x.state, x.error]))}\n${tails.join('\n---\n')}`);
    }
  }

  async function upload(name: string, version: string, bytes: Buffer): Promise<string> {
    const response = await e.t.request('POST', `/api/v1/artifacts?name=${name}&version=${version}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(201);
    return (response.json() as { id: string }).id;
  }
});
