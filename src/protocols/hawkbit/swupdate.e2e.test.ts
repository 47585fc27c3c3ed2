// Rollouts of signed .swu images to real SWUpdate clients over hawkBit DDI, through the real
// engine: a progressive rollout confirmed after a "reboot" (restart with -c 2), a failing image
// with SWUpdate's details in the event log and its reason in the execution's error, and a cancel
// reaching the client via cancelAction.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/index.js';
import { nextEvent } from '../../testing/engine.js';
import { requirePeer } from '../../testing/peers.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';
import { waitFor } from '../../testing/mender-client.js';
import { buildSignedSwu, createSwuSigner, startSwupdate, swupdateUnavailable, type SwupdateOptions, type SwuSigner, type SwupdateClient } from '../../testing/swupdate-client.js';

const unavailable = requirePeer('SWUpdate', swupdateUnavailable());

describe.skipIf(unavailable !== null)('SWUpdate over hawkBit DDI (real clients)', () => {
  let e: EngineApp;
  let dir: string;
  let signer: SwuSigner;
  let gatewayToken: string;
  const clients: SwupdateClient[] = [];
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 1 });
    dir = fs.mkdtempSync('/var/tmp/uo-swu-e2e-');
    signer = createSwuSigner(dir);
    gatewayToken = ((await e.t.request('PUT', '/api/v1/hawkbit/tenants/DEFAULT/gateway-token')).json() as { gatewayToken: string }).gatewayToken;
  });
  afterAll(async () => {
    for (const c of clients) await c.stop();
    await e?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A registered device with its own target token, or (gateway) one SWUpdate registers itself. */
  async function device(id: string, ring: string, via: 'target' | 'gateway' = 'target'): Promise<SwupdateOptions> {
    const root = path.join(dir, id);
    fs.mkdirSync(root);
    if (via === 'gateway') {
      const client = startSwupdate(dir, { serverUrl: e.t.url, tenant: 'DEFAULT', controllerId: id, token: { type: 'gateway', value: gatewayToken }, cert: signer.cert, targetDir: root });
      clients.push(client);
      await waitFor(`${id} registered through the gateway token`, async () => (await e.t.app.store.devices.get(id)) !== null);
      await client.stop();
      expect((await e.t.request('PATCH', `/api/v1/devices/${id}`, { body: { tags: { ring } } })).status).toBe(200);
      return { serverUrl: e.t.url, tenant: 'DEFAULT', controllerId: id, token: { type: 'gateway', value: gatewayToken }, cert: signer.cert, targetDir: root };
    }
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id, name: id, mode: 'pull', tags: { ring } } })).status).toBe(201);
    const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
    return { serverUrl: e.t.url, tenant: 'DEFAULT', controllerId: id, token: { type: 'target', value: token }, cert: signer.cert, targetDir: root };
  }

  function run(options: SwupdateOptions): SwupdateClient {
    const client = startSwupdate(dir, options);
    clients.push(client);
    return client;
  }

  async function upload(version: string, swu: Buffer): Promise<string> {
    const response = await e.t.request('POST', `/api/v1/artifacts?name=fw&version=${version}`, { raw: swu, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(201);
    return (response.json() as { id: string }).id;
  }

  /** On failure, shows where each execution and client stood (these tests drive real processes). */
  async function explainOnFailure<T>(rolloutId: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      const executions = await e.t.app.store.executions.list(rolloutId, { limit: 100 });
      const tails = clients.map((c) => c.output().split('\n').filter((l) => !/MTD|lua_report/.test(l)).slice(-15).join('\n'));
      throw new Error(`${(error as Error).message}\nexecutions: ${JSON.stringify(executions.map((x) => [x.deviceId, x.phase, x.state]))}\n${tails.join('\n---\n')}`);
    }
  }

  const executionEvent = (deviceId: string, type: string) => nextEvent(e.t.app.events, (ev: EventRecord) => ev.deviceId === deviceId && ev.type === type, 90_000);

  it('rolls a signed .swu out progressively; each device installs it and reports closed/success after its restart', async () => {
    const devices = [await device('swu-1', 'prog'), await device('swu-2', 'prog'), await device('swu-3', 'prog', 'gateway')];
    const artifactId = await upload('2.0.0', buildSignedSwu(signer, '2.0.0', { 'app.txt': 'version 2\n' }));
    const rollout = await e.rollouts.create(
      { artifactId, filter: { tag: 'ring:prog' }, strategy: 'progressive', phases: [{ count: 1, successThreshold: 100 }, { percent: 100, successThreshold: 100 }] },
      'token:test',
    );
    const completed = nextEvent(e.t.app.events, (ev) => ev.rolloutId === rollout.id && ev.type === 'rollout.completed', 120_000);
    const running = devices.map((d) => ({ d, client: run(d) }));
    const order: string[] = [];
    await explainOnFailure(rollout.id, Promise.all(
      running.map(async ({ d, client }) => {
        const id = d.controllerId;
        // Installed, waiting for the reboot that would test it: the action stays open.
        await executionEvent(id, 'execution.verifying');
        await client.waitForOutput(/already installed update is pending testing/);
        expect(fs.readFileSync(path.join(d.targetDir!, 'app.txt'), 'utf8')).toBe('version 2\n');
        await client.stop();
        const succeeded = executionEvent(id, 'execution.succeeded');
        run({ ...d, confirm: '2' });
        await succeeded;
        order.push(id);
      }),
    ));
    await completed;
    const after = await e.rollouts.get(rollout.id);
    expect(after.counts).toEqual({ succeeded: 3 });
    // Phase 0 (one device) finished before phase 1 began.
    const executions = await e.t.app.store.executions.list(rollout.id, { limit: 10 });
    const first = executions.find((x) => x.phase === 0)!;
    expect(order[0]).toBe(first.deviceId);
    const feedback = await e.t.app.store.events.list({ type: ['hawkbit.feedback'], limit: 1000 });
    for (const d of devices) {
      expect(feedback.some((f) => f.deviceId === d.controllerId && f.data.execution === 'closed' && f.data.finished === 'success')).toBe(true);
    }
    await waitFor('the device version', async () => (await e.t.app.store.devices.get('swu-3'))?.version === '2.0.0');
    // The base poll now points at what is installed.
    const auth = { authorization: `TargetToken ${devices[0]!.token.value}` };
    const poll = (await e.t.request('GET', '/DEFAULT/controller/v1/swu-1', { token: null, headers: auth })).json() as { _links: Record<string, { href: string }> };
    expect(Object.keys(poll._links)).toContain('installedBase');
    expect(Object.keys(poll._links)).not.toContain('deploymentBase');
    const installed = await e.t.request('GET', new URL(poll._links.installedBase!.href).pathname, { token: null, headers: auth });
    expect(installed.status).toBe(200);
    expect((installed.json() as { deployment: { chunks: Array<{ name: string; version: string }> } }).deployment.chunks[0]).toMatchObject({ name: 'fw', version: '2.0.0' });
  }, 180_000);

  it('records a failing .swu as failed, with SWUpdate’s details in the event log', async () => {
    const d = await device('swu-bad', 'bad');
    // Built for hardware revision 9.9: SWUpdate (board:1.0) refuses to install it.
    const swu = buildSignedSwu(signer, '2.1.0', { 'app.txt': 'never\n' }, ['9.9']);
    const artifactId = await upload('2.1.0', swu);
    const failed = executionEvent('swu-bad', 'execution.failed');
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:bad' } }, 'token:test');
    run(d);
    const event = await failed;
    expect(event.rolloutId).toBe(rollout.id);
    const [execution] = await e.t.app.store.executions.list(rollout.id, { limit: 1 });
    expect(execution).toMatchObject({ state: 'failed' });
    // The reason from the log SWUpdate sent with an earlier message, then its closing verdict.
    expect(execution!.error).toMatch(/^the device reported failure: .*SW not compatible with hardware.* \| No suitable \.swu image found$/);
    const feedback = (await e.t.app.store.events.list({ type: ['hawkbit.feedback'], limit: 1000 })).filter((f) => f.deviceId === 'swu-bad');
    expect(feedback.find((f) => f.data.execution === 'closed')?.data).toMatchObject({ finished: 'failure' });
    for (const f of feedback) expect(f.rolloutId).toBe(rollout.id);
    // SWUpdate's own account of why, as it sent it: every line, not only the last one.
    const details = feedback.reverse().flatMap((f) => f.data.details as string[]);
    expect(details.join('\n')).toMatch(/SW not compatible with hardware/);
    expect(details.length).toBeGreaterThan(20);
    expect(fs.existsSync(path.join(d.targetDir!, 'app.txt'))).toBe(false);
  }, 120_000);

  it('delivers an operator’s cancel to the client through cancelAction, which confirms it', async () => {
    const d = await device('swu-cancel', 'cancel');
    const artifactId = await upload('2.2.0', buildSignedSwu(signer, '2.2.0', { 'app.txt': 'version 2.2\n' }));
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:cancel' } }, 'token:test');
    const client = run(d);
    // The client took the action (installed, waiting to be tested) when the operator cancels.
    await executionEvent('swu-cancel', 'execution.verifying');
    await client.waitForOutput(/already installed update is pending testing/);
    const confirmed = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'swu-cancel' && ev.type === 'hawkbit.cancel-confirmed', 60_000);
    await e.rollouts.cancel(rollout.id, 'token:test');
    const event = await confirmed;
    expect(event.data).toMatchObject({ execution: 'closed', finished: 'success' });
    const [execution] = await e.t.app.store.executions.list(rollout.id, { limit: 1 });
    expect(execution!.state).toBe('cancelled');
    // Acknowledged: the base poll no longer shows the cancel.
    const poll = await e.t.request('GET', '/DEFAULT/controller/v1/swu-cancel', { token: null, headers: { authorization: `TargetToken ${d.token.value}` } });
    expect(Object.keys((poll.json() as { _links: object })._links)).not.toContain('cancelAction');
  }, 120_000);
});
