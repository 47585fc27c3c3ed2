// Rollback after the first rollout: an agent with A/B slots keeps what it ran before even when
// this server never had that artifact (here a factory image another server installed), so a
// rollback switches it back to its other slot. Real agent, real engine, real files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';
import { createDeviceAgent } from './device-agent.js';
import { silentLog } from './log.js';

interface RollbackJson {
  rollout: { status: string };
  rollbacks: { id: string; revert: boolean; artifactId: string; progress: { total: number } }[];
  notRolledBack: { deviceId: string; reason: string }[];
}

describe('rollback of an agent to its other slot', () => {
  let factory: TestApp;
  let t: TestApp;
  let dir: string;
  const targets = new ManualTargets();
  beforeAll(async () => {
    factory = await startTestApp({ app: { deviceSync: targets } });
    t = await startTestApp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-revert-'));
  });
  afterAll(async () => {
    await factory?.close();
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const link = () => fs.readlinkSync(path.join(dir, 'current'));
  const completed = (id: string) => nextEvent(t.app.events, (e) => e.rolloutId === id && e.type === 'rollout.completed');

  it('switches back to the release of the other slot after its first rollout from this server, and again after the next', async () => {
    // The factory image, installed through another server: this one never had it.
    const factoryToken = await addPullDevice(factory.app, 'ab-1');
    const atFactory = createDeviceAgent({ server: factory.url, deviceId: 'ab-1', token: factoryToken, dir }, silentLog);
    await atFactory.init();
    const v1 = await uploadArtifact(factory.app, Buffer.from('factory image 1.0'), { name: 'app', version: '1.0.0' });
    const e1 = targets.target('ab-1', v1);
    await atFactory.round();
    await targets.until(e1.id, 'succeeded');
    expect(link()).toBe(path.join('slot-a', 'app-1.0.0'));

    const token = await addPullDevice(t.app, 'ab-1');
    const agent = createDeviceAgent({ server: t.url, deviceId: 'ab-1', token, dir }, silentLog);
    await agent.init();
    const v2 = await uploadArtifact(t.app, Buffer.from('version 2.0'), { name: 'app', version: '2.0.0' });
    const create = async (artifactId: string) => {
      const released = nextEvent(t.app.events, (e) => e.deviceId === 'ab-1' && e.type === 'execution.queued');
      const id = ((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId, filter: { ids: ['ab-1'] } } })).json() as { id: string }).id;
      await released;
      return id;
    };
    const first = await create(v2.id);
    const firstDone = completed(first);
    await agent.round();
    await firstDone;
    expect(link()).toBe(path.join('slot-b', 'app-2.0.0'));
    expect((await t.app.store.executions.inRollout(first, 'ab-1'))?.previousArtifactId).toBeNull();

    const queued = () => nextEvent(t.app.events, (e) => e.deviceId === 'ab-1' && e.type === 'execution.queued');
    const released = queued();
    const answer = await t.request('POST', `/api/v1/rollouts/${first}/rollback`, { token: t.tokens.operator });
    expect(answer.status).toBe(200);
    const result = answer.json() as RollbackJson;
    expect(result).toMatchObject({ rollout: { status: 'rolled-back' }, notRolledBack: [], rollbacks: [{ revert: true, artifactId: v2.id, progress: { total: 1 } }] });
    const revert = result.rollbacks[0]!.id;
    const reverted = completed(revert);
    expect((await released).rolloutId).toBe(revert);
    // What the device is told: leave 2.0.0, nothing to download.
    const target = (await t.request('GET', '/api/v1/device/ab-1/state', { token })).json() as { update: Record<string, unknown> };
    expect(target.update).toMatchObject({ name: 'app', version: '2.0.0', sha256: null, downloadUrl: null, revert: { sha256: v2.sha256, imageRef: null } });
    await agent.round();
    await reverted;
    expect(link()).toBe(path.join('slot-a', 'app-1.0.0'));
    expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe('factory image 1.0');
    expect(agent.current).toMatchObject({ current: { version: '1.0.0', slot: 'a' }, previous: { version: '2.0.0', slot: 'b' }, outbox: [] });
    expect(((await t.request('GET', '/api/v1/devices/ab-1')).json() as { version: string }).version).toBe('1.0.0');
    expect((await t.request('POST', `/api/v1/rollouts/${revert}/rollback`, { token: t.tokens.operator })).status).toBe(409);

    // The next rollout from this server: after a revert the device runs nothing of ours, so its
    // rollback switches slots again rather than reinstalling 2.0.0.
    const v3 = await uploadArtifact(t.app, Buffer.from('version 3.0'), { name: 'app', version: '3.0.0' });
    const second = await create(v3.id);
    const secondDone = completed(second);
    await agent.round();
    await secondDone;
    expect(link()).toBe(path.join('slot-b', 'app-3.0.0'));
    const releasedAgain = queued();
    const again = (await t.request('POST', `/api/v1/rollouts/${second}/rollback`, { token: t.tokens.operator })).json() as RollbackJson;
    expect(again.rollbacks.map((r) => r.revert)).toEqual([true]);
    const back = completed(again.rollbacks[0]!.id);
    expect((await releasedAgain).rolloutId).toBe(again.rollbacks[0]!.id);
    await agent.round();
    await back;
    expect(link()).toBe(path.join('slot-a', 'app-1.0.0'));
  });
});
