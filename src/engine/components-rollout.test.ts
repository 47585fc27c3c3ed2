// Several components on one device (issue 15 item 4), through the real engine, real agents and the
// hawkBit DDI API: one execution per device installs every component the release has for it, in
// the release's order; the rollout counts devices; a failure of a later component rolls every
// component back; a hawkBit controller gets one chunk per component and one feedback closes it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceAgent } from '../agent/device-agent.js';
import { silentLog } from '../agent/log.js';
import { Agent, AgentClient, FileHandler, FilePartialStore, FileStateStore, HealthChecker, ScriptHandler, ContainerHandler, type AgentState, type HandlerTable, type StateStore } from '../agent/index.js';
import type { RolloutView, TargetState } from '../core/index.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { waitFor } from '../testing/mender-client.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';

describe('a release with several components on one device', () => {
  let e: EngineApp;
  let dir: string;
  const agents: Record<string, { agent: Agent; token: string; dir: string }> = {};
  let controllerToken = '';
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-components-'));
    for (const [id, type] of [['kiosk-1', 'kiosk'], ['basic-1', 'basic']] as const) {
      const token = await addPullDevice(e.t.app, id);
      const at = path.join(dir, id);
      const agent = createDeviceAgent({ server: e.t.url, deviceId: id, token, dir: at, deviceType: type }, silentLog);
      await agent.init();
      await agent.round();
      agents[id] = { agent, token, dir: at };
    }
    // A hawkBit controller whose hwRevision (its device type) is kiosk.
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id: 'ctl-1', mode: 'pull' } })).status).toBe(201);
    controllerToken = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: 'ctl-1', name: 'ctl-1' }, Date.now())).token;
    expect((await ddi('PUT', '/DEFAULT/controller/v1/ctl-1/configData', { mode: 'merge', data: { hwRevision: 'kiosk' } })).status).toBe(200);
  });
  afterAll(async () => {
    await e?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function ddi(method: string, p: string, body?: unknown) {
    return e.t.request(method, p, { token: null, headers: { authorization: `TargetToken ${controllerToken}` }, ...(body !== undefined ? { body } : {}) });
  }
  const view = (id: string) => e.t.request('GET', `/api/v1/rollouts/${id}`).then((r) => r.json() as RolloutView);
  const link = (agentId: string, component: string) => fs.readlinkSync(path.join(agents[agentId]!.dir, 'components', component, 'current'));
  const read = (agentId: string, component: string) => fs.readFileSync(path.join(agents[agentId]!.dir, 'components', component, link(agentId, component)), 'utf8');

  async function release(version: string, app: { bytes: string; metadata?: Record<string, unknown> }) {
    const osArtifact = await uploadArtifact(e.t.app, Buffer.from(`kiosk os ${version}`), { name: 'kiosk-os', version });
    const appArtifact = await uploadArtifact(e.t.app, Buffer.from(app.bytes), { name: 'kiosk-app', version, ...(app.metadata ? { metadata: app.metadata } : {}) });
    const created = await e.t.request('POST', '/api/v1/releases', {
      token: e.t.tokens.operator,
      body: {
        name: 'kiosk',
        version,
        artifacts: [
          { artifactId: osArtifact.id, component: 'os', match: { protocol: ['agent', 'hawkbit'] } },
          { artifactId: appArtifact.id, component: 'app', match: { protocol: ['agent', 'hawkbit'], deviceType: 'kiosk' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    return { id: (created.json() as { id: string }).id, os: osArtifact, app: appArtifact };
  }

  /** Polls and applies on every agent, and takes what the controller is offered, until the rollout is done. */
  async function runUntilDone(rolloutId: string, controller?: (deployment: Record<string, unknown>, actionPath: string) => Promise<void>): Promise<RolloutView> {
    return waitFor(`rollout ${rolloutId} to finish`, async () => {
      for (const { agent } of Object.values(agents)) await agent.round();
      if (controller) {
        const poll = (await ddi('GET', '/DEFAULT/controller/v1/ctl-1')).json() as { _links?: { deploymentBase?: { href: string } } };
        const href = poll._links?.deploymentBase?.href;
        if (href) {
          const p = new URL(href).pathname;
          await controller((await ddi('GET', p)).json() as Record<string, unknown>, p);
        }
      }
      const v = await view(rolloutId);
      return v.status === 'completed' || v.status === 'paused' ? v : undefined;
    });
  }

  it('installs os then app on the agent that both fit, os alone on the other, two chunks on the hawkBit controller; the rollout counts devices', async () => {
    const r = await release('3.0', { bytes: 'kiosk app 3.0' });
    const spec = { releaseId: r.id, filter: { ids: ['kiosk-1', 'basic-1', 'ctl-1'] } };
    const dry = (await e.t.request('POST', '/api/v1/rollouts?dryRun=true', { token: e.t.tokens.operator, body: spec })).json();
    expect(dry).toEqual({ total: 3, byArtifact: { [r.os.id]: 3, [r.app.id]: 2 }, skipped: [] });
    const rollout = await e.rollouts.create(spec);

    // One execution per device; the multi-component ones carry their components in release order.
    const executions = await e.t.app.store.executions.list(rollout.id, { limit: 10 });
    expect(executions).toHaveLength(3);
    expect(await e.t.app.store.executions.componentsOf(rollout.id, 'kiosk-1')).toEqual([
      { component: 'os', artifactId: r.os.id },
      { component: 'app', artifactId: r.app.id },
    ]);
    expect(await e.t.app.store.executions.componentsOf(rollout.id, 'basic-1')).toEqual([]);
    expect(executions.find((x) => x.deviceId === 'basic-1')?.artifactId).toBe(r.os.id);

    // The agent's target: the release on top (nothing an older agent could install), the components in order.
    const target = await waitFor('kiosk-1 to be released', async () => {
      const state = (await e.t.request('GET', '/api/v1/device/kiosk-1/state', { token: agents['kiosk-1']!.token })).json() as TargetState;
      return state.update ?? undefined;
    });
    expect(target).toMatchObject({ name: 'kiosk', version: '3.0', sha256: null, downloadUrl: null, imageRef: null, size: r.os.size + r.app.size });
    expect(target.components?.map((c) => [c.component, c.artifactId, c.sha256])).toEqual([
      ['os', r.os.id, r.os.sha256],
      ['app', r.app.id, r.app.sha256],
    ]);

    let chunks: { part: string; name: string; artifacts: { hashes: { sha256: string } }[] }[] = [];
    const done = await runUntilDone(rollout.id, async (deployment, p) => {
      chunks = (deployment as { deployment: { chunks: typeof chunks } }).deployment.chunks;
      expect((await ddi('POST', `${p.replace(/\?.*$/, '')}/feedback`, { id: (deployment as { id: string }).id, status: { execution: 'closed', result: { finished: 'success' } } })).status).toBe(200);
    });
    expect(done.counts).toEqual({ succeeded: 3 });
    expect(done.progress).toMatchObject({ total: 3, finished: 3, succeeded: 3, failed: 0 });
    // hawkBit: one chunk per component, part = the component, in release order.
    expect(chunks.map((c) => [c.part, c.name, c.artifacts[0]!.hashes.sha256])).toEqual([
      ['os', 'kiosk-os', r.os.sha256],
      ['app', 'kiosk-app', r.app.sha256],
    ]);
    // Each component in its own slots; the device runs (and reports) the release's version.
    expect(read('kiosk-1', 'os')).toBe('kiosk os 3.0');
    expect(read('kiosk-1', 'app')).toBe('kiosk app 3.0');
    expect(fs.readFileSync(path.join(agents['basic-1']!.dir, 'current'), 'utf8')).toBe('kiosk os 3.0');
    for (const id of ['kiosk-1', 'ctl-1']) expect((await e.t.app.store.devices.get(id))?.version).toBe('3.0');
    expect((await e.t.app.store.devices.get('basic-1'))?.version).toBe('3.0');
  });

  it('rolls os back too when app, the second component, fails to install, and names the component', async () => {
    const before = { os: link('kiosk-1', 'os'), app: link('kiosk-1', 'app') };
    // A file name the file handler refuses: the app's install fails after os was switched.
    const r = await release('3.1', { bytes: 'kiosk app 3.1', metadata: { install: { handler: 'file', settings: { fileName: '..' } } } });
    const rollout = await e.rollouts.create({ releaseId: r.id, filter: { ids: ['kiosk-1'] }, retry: { maxAttempts: 1 } });
    const done = await runUntilDone(rollout.id);
    expect(done.counts).toEqual({ 'rolled-back': 1 });
    const execution = (await e.t.app.store.executions.list(rollout.id, { limit: 1 }))[0]!;
    expect(execution).toMatchObject({ state: 'rolled-back', error: expect.stringMatching(/^component app \(kiosk-app 3\.1\): install failed: cannot use '\.\.' as a file name/) });
    // Both components run what they ran before; the device still reports the release it ran.
    expect({ os: link('kiosk-1', 'os'), app: link('kiosk-1', 'app') }).toEqual(before);
    expect(read('kiosk-1', 'os')).toBe('kiosk os 3.0');
    expect(read('kiosk-1', 'app')).toBe('kiosk app 3.0');
    expect((await e.t.app.store.devices.get('kiosk-1'))?.version).toBe('3.0');
  });

  it('rolls both components back when the health checks fail once all are in', async () => {
    const before = { os: link('kiosk-1', 'os'), app: link('kiosk-1', 'app') };
    // Nothing listens on port 1: the app's health check cannot pass within its deadline.
    const r = await release('3.2', { bytes: 'kiosk app 3.2', metadata: { healthChecks: [{ type: 'tcp', target: '127.0.0.1:1', timeoutSeconds: 1 }], healthDeadlineSeconds: 1 } });
    const rollout = await e.rollouts.create({ releaseId: r.id, filter: { ids: ['kiosk-1'] }, retry: { maxAttempts: 1 } });
    expect((await runUntilDone(rollout.id)).counts).toEqual({ 'rolled-back': 1 });
    expect((await e.t.app.store.executions.list(rollout.id, { limit: 1 }))[0]?.error).toMatch(/127\.0\.0\.1:1/);
    expect({ os: link('kiosk-1', 'os'), app: link('kiosk-1', 'app') }).toEqual(before);
    expect(read('kiosk-1', 'os')).toBe('kiosk os 3.0');
    expect((await e.t.app.store.devices.get('kiosk-1'))?.version).toBe('3.0');
  });

  it('resumes after a restart between the components: the first is not installed again, and a rollback after the restart undoes it', async () => {
    const id = 'kiosk-2';
    const at = path.join(dir, id);
    const token = await addPullDevice(e.t.app, id);
    const stateFile = path.join(at, '.agent-state.json');
    const handlersIn = (d: string): HandlerTable => ({ file: new FileHandler(d), script: new ScriptHandler({ dir: d, allowServerCommands: false }), container: new ContainerHandler({ allowServerCommands: false }) });
    /** An agent killed right after the state with the first component installed reached the disk. */
    const killedAfterFirstComponent = async () => {
      const file = new FileStateStore(stateFile);
      let killed = false;
      const store: StateStore = {
        load: () => file.load(),
        async save(state: AgentState) {
          if (killed) throw new Error('the agent is dead');
          await file.save(state);
          if (state.job?.parts?.installed.length === 1 && state.job.phase === 'install') {
            killed = true;
            throw new Error('killed');
          }
        },
      };
      fs.mkdirSync(at, { recursive: true });
      const agent = new Agent({
        client: new AgentClient({ server: e.t.url, deviceId: id, token }),
        stateStore: store,
        partials: new FilePartialStore(path.join(at, '.partial')),
        handlers: handlersIn(at),
        componentHandlers: (c) => handlersIn(path.join(at, 'components', c)),
        health: new HealthChecker(),
        trustedKey: null,
        log: silentLog,
        deviceType: 'kiosk',
      });
      await agent.init();
      await waitFor('the agent to be killed after the first component', async () => {
        await agent.round();
        return killed;
      });
      const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as AgentState;
      expect(saved.job?.parts?.installed.map((i) => i.component)).toEqual(['os']);
    };
    const restarted = async (rolloutId: string) => {
      const agent = createDeviceAgent({ server: e.t.url, deviceId: id, token, dir: at, deviceType: 'kiosk' }, silentLog);
      await agent.init();
      return waitFor(`rollout ${rolloutId} to finish`, async () => {
        await agent.round();
        const v = await view(rolloutId);
        return v.status === 'completed' ? v : undefined;
      });
    };
    const osLink = () => fs.readlinkSync(path.join(at, 'components', 'os', 'current'));

    // The first start announces its device type (what the release matches the app against).
    const announcing = createDeviceAgent({ server: e.t.url, deviceId: id, token, dir: at, deviceType: 'kiosk' }, silentLog);
    await announcing.init();
    await announcing.round();
    expect((await e.t.app.store.devices.get(id))?.deviceType).toBe('kiosk');

    const good = await release('4.0', { bytes: 'kiosk app 4.0' });
    const first = await e.rollouts.create({ releaseId: good.id, filter: { ids: [id] } });
    await killedAfterFirstComponent();
    expect((await restarted(first.id)).counts).toEqual({ succeeded: 1 });
    // os was installed once (its first slot), app after the restart.
    expect(osLink()).toBe(path.join('slot-a', 'kiosk-os-4.0'));
    expect(fs.readlinkSync(path.join(at, 'components', 'app', 'current'))).toBe(path.join('slot-a', 'kiosk-app-4.0'));
    expect((await e.t.app.store.devices.get(id))?.version).toBe('4.0');

    const bad = await release('4.1', { bytes: 'kiosk app 4.1', metadata: { install: { handler: 'file', settings: { fileName: '..' } } } });
    const second = await e.rollouts.create({ releaseId: bad.id, filter: { ids: [id] }, retry: { maxAttempts: 1 } });
    await killedAfterFirstComponent();
    expect(osLink()).toBe(path.join('slot-b', 'kiosk-os-4.1'));
    expect((await restarted(second.id)).counts).toEqual({ 'rolled-back': 1 });
    expect(osLink()).toBe(path.join('slot-a', 'kiosk-os-4.0'));
    expect((await e.t.app.store.devices.get(id))?.version).toBe('4.0');
  });

  it('does not roll back the devices that got several components; the others are rolled back as before', async () => {
    const r = await release('5.0', { bytes: 'kiosk app 5.0' });
    const rollout = await e.rollouts.create({ releaseId: r.id, filter: { ids: ['kiosk-1', 'basic-1'] } });
    expect((await runUntilDone(rollout.id)).counts).toEqual({ succeeded: 2 });
    const answer = await e.t.request('POST', `/api/v1/rollouts/${rollout.id}/rollback`, { token: e.t.tokens.operator });
    expect(answer.status).toBe(200);
    const result = answer.json() as { notRolledBack: { deviceId: string; reason: string }[]; rollbacks: { artifactId: string; filter: { ids: string[] } }[] };
    expect(result.notRolledBack).toEqual([{ deviceId: 'kiosk-1', reason: expect.stringMatching(/several components .* not supported; roll the release it ran before out again/) }]);
    expect(result.rollbacks.map((x) => x.filter.ids)).toEqual([['basic-1']]);
  });
});
