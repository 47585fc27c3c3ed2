// One rollout of one release over a mixed fleet, through the real engine and device protocols:
// SWUpdate-style controllers over hawkBit DDI get the .swu, a Mender device the .mender, HTTP push
// devices the plain file; a hawkBit device of a type the release has nothing for is skipped with
// the reason. The rollout's phases, error threshold and approval work over the whole fleet, and
// the dry run predicted exactly what the real run did. SQLite and PostgreSQL.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutView } from '../core/index.js';
import { menderBundle, swuBundle, uploadBytes } from '../testing/bundles.js';
import { appDatabases } from '../testing/app.js';
import { startCountingReceiver, type CountingReceiver } from '../testing/counting-receiver.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { waitFor } from '../testing/mender-client.js';
import { menderDevice, type MenderDevice } from '../testing/mender-device.js';

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

for (const { db, skip } of await appDatabases()) describe.skipIf(skip !== null)(`a rollout of a release over a mixed fleet (${db})`, () => {
  let e: EngineApp;
  let receiver: CountingReceiver;
  let mender: MenderDevice;
  const bytes = { swu: swuBundle('2.4.1', ['rev-a', 'rev-b']), mender: menderBundle('pos-2.4.1', ['rpi4']), bin: Buffer.from('pos firmware 2.4.1 for push devices') };
  const ids = { swu: '', mender: '', bin: '' };
  const controllers: Record<string, string> = {};
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 1 }, undefined, db);
    receiver = await startCountingReceiver();
    ids.swu = await uploadBytes(e.t, 'pos-os', '2.4.1', bytes.swu);
    ids.mender = await uploadBytes(e.t, 'pos-app', '2.4.1', bytes.mender);
    ids.bin = await uploadBytes(e.t, 'pos-fw', '2.4.1', bytes.bin);
    // hawkBit controllers: their hwRevision attribute is their device type.
    for (const [id, hw] of [['swu-1', 'rev-a'], ['swu-2', 'rev-b'], ['swu-3', 'rpi3']] as const) {
      expect((await e.t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { fleet: 'mixed' } } })).status).toBe(201);
      controllers[id] = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
      expect((await ddi(id, 'PUT', `/DEFAULT/controller/v1/${id}/configData`, { mode: 'merge', data: { hwRevision: hw } })).status).toBe(200);
    }
    // A Mender device whose inventory says rpi4.
    mender = await menderDevice(e.t, { mac: '02:00:00:00:15:01', device_id: 'mender-1' });
    const inventory = await e.t.request('PUT', '/api/devices/v1/inventory/device/attributes', { token: null, headers: { authorization: `Bearer ${mender.token}` }, body: [{ name: 'device_type', value: 'rpi4' }] });
    expect(inventory.status).toBe(200);
    await e.t.request('PATCH', '/api/v1/devices/mender-1', { body: { tags: { fleet: 'mixed' } } });
    for (const id of ['push-1', 'push-2']) {
      expect((await e.t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: `${receiver.url}/update`, tags: { fleet: 'mixed' } } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await e?.close();
    await receiver?.close();
  });

  function ddi(id: string, method: string, path: string, body?: unknown) {
    return e.t.request(method, path, { token: null, headers: { authorization: `TargetToken ${controllers[id]}` }, ...(body !== undefined ? { body } : {}) });
  }

  /** What each device was offered, by the protocol it speaks (sha256 of the file or the Mender artifact name). */
  const offered = new Map<string, string>();

  /** One round of every pull device: take what is offered, record it, report success. */
  async function devicesPoll(): Promise<void> {
    for (const id of Object.keys(controllers)) {
      const poll = (await ddi(id, 'GET', `/DEFAULT/controller/v1/${id}`)).json() as { _links?: { deploymentBase?: { href: string } } };
      const href = poll._links?.deploymentBase?.href;
      if (!href) continue;
      const path = new URL(href).pathname;
      const base = (await ddi(id, 'GET', path)).json() as { id: string; deployment: { chunks: { artifacts: { hashes: { sha256: string } }[] }[] } };
      offered.set(id, base.deployment.chunks[0]!.artifacts[0]!.hashes.sha256);
      expect((await ddi(id, 'POST', `${path.replace(/\?.*$/, '')}/feedback`, { id: base.id, status: { execution: 'closed', result: { finished: 'success' } } })).status).toBe(200);
    }
    const next = await mender.next({ device_type: 'rpi4', artifact_name: 'pos-2.4.0' });
    if (next.status === 200) {
      const deployment = next.json() as { id: string; artifact: { artifact_name: string } };
      offered.set('mender-1', deployment.artifact.artifact_name);
      expect(await mender.status(deployment.id, 'success')).toBe(204);
    }
  }

  it('dry-runs, then delivers each device its own artifact through phases, the threshold and an approval', async () => {
    const created = await e.t.request('POST', '/api/v1/releases', { token: e.t.tokens.operator, body: { name: 'pos', version: '2.4.1', artifacts: [{ artifactId: ids.swu }, { artifactId: ids.mender }, { artifactId: ids.bin }] } });
    expect(created.status).toBe(201);
    const releaseId = (created.json() as { id: string }).id;
    const spec = {
      releaseId,
      filter: { tag: 'fleet=mixed' },
      strategy: 'progressive',
      phases: [{ percent: 40, requireApproval: true }, { percent: 100 }],
      errorThreshold: { percent: 20, action: 'pause' },
    };
    const dry = await e.t.request('POST', '/api/v1/rollouts?dryRun=true', { token: e.t.tokens.operator, body: spec });
    expect(dry.status).toBe(200);
    const plan = dry.json();
    expect(plan).toEqual({ total: 6, byArtifact: { [ids.swu]: 2, [ids.mender]: 1, [ids.bin]: 2 }, skipped: [{ reason: 'no artifact of release pos 2.4.1 for device type rpi3 over hawkBit', devices: 1 }] });
    expect((await e.t.request('GET', '/api/v1/rollouts')).json()).toMatchObject({ total: 0 });

    const rollout = await e.rollouts.create(spec);
    expect(rollout).toMatchObject({ releaseId, artifactId: ids.swu });
    // The executions record what each device gets; the one nothing fits is skipped with the reason.
    const executions = await e.t.app.store.executions.list(rollout.id, { limit: 100 });
    const real: Record<string, number> = {};
    for (const x of executions.filter((x) => x.state !== 'skipped')) real[x.artifactId] = (real[x.artifactId] ?? 0) + 1;
    expect(real).toEqual((plan as { byArtifact: Record<string, number> }).byArtifact);
    expect(executions.filter((x) => x.state === 'skipped')).toEqual([expect.objectContaining({ deviceId: 'swu-3', note: 'no artifact of release pos 2.4.1 for device type rpi3 over hawkBit', finishedAt: expect.any(String) })]);
    const started = await e.t.app.store.events.list({ rolloutId: rollout.id, type: ['rollout.started'], limit: 1 });
    expect(started[0]?.data).toEqual({ devices: 6, skipped: 1 });
    // Two of the five devices delivered to are in the first phase; the skipped one takes no place there.
    expect(executions.filter((x) => x.state !== 'skipped' && x.phase === 0)).toHaveLength(2);

    const view = () => e.t.request('GET', `/api/v1/rollouts/${rollout.id}`).then((r) => r.json() as RolloutView);
    await waitFor('the first phase to wait for its approval', async () => {
      await devicesPoll();
      return (await view()).waiting === 'approval';
    });
    expect((await view()).currentPhase).toBe(0);
    expect((await e.t.request('POST', `/api/v1/rollouts/${rollout.id}/approve`, { token: e.t.tokens.operator })).status).toBe(200);
    await waitFor('the rollout to complete', async () => {
      await devicesPoll();
      return (await view()).status === 'completed';
    });

    const done = await view();
    expect(done.counts).toEqual({ succeeded: 5, skipped: 1 });
    expect(done.progress).toMatchObject({ total: 6, finished: 6, succeeded: 5, failed: 0 });
    // Each device ran its own artifact: the .swu over hawkBit, the .mender over Mender, the file pushed.
    expect(offered.get('swu-1')).toBe(sha(bytes.swu));
    expect(offered.get('swu-2')).toBe(sha(bytes.swu));
    expect(offered.has('swu-3')).toBe(false);
    expect(offered.get('mender-1')).toBe('pos-2.4.1');
    expect(receiver.installed).toEqual(new Map([['push-1', sha(bytes.bin)], ['push-2', sha(bytes.bin)]]));
  });

  it('judges the error threshold over the devices delivered to: a skipped device neither fails nor dilutes it', async () => {
    receiver.refused.add('push-1');
    const release = (await e.t.request('POST', '/api/v1/releases', { body: { name: 'pos', version: '2.4.1-b', artifacts: [{ artifactId: ids.swu }, { artifactId: ids.bin }] } })).json() as { id: string };
    const rollout = await e.rollouts.create({ releaseId: release.id, filter: { ids: ['push-1', 'push-2', 'swu-3'] }, errorThreshold: { percent: 40, action: 'pause' }, retry: { maxAttempts: 1 } });
    const view = () => e.t.request('GET', `/api/v1/rollouts/${rollout.id}`).then((r) => r.json() as RolloutView);
    const paused = await waitFor('the threshold to pause the rollout', async () => {
      const v = await view();
      return v.status === 'paused' ? v : undefined;
    });
    expect(paused).toMatchObject({ pauseCause: 'error-threshold', statusReason: expect.stringContaining('1 of 2 devices failed (50.0%)'), counts: expect.objectContaining({ failed: 1, skipped: 1 }) });
  });
});
