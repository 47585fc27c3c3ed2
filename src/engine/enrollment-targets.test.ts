// Rollouts target only devices an operator accepted: a device that enrolled itself and waits as
// pending, or was rejected, is never given an execution (single-phase and phased starts alike).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';

describe('rollout targets and enrollment', () => {
  let t: TestApp;
  let artifactId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const upload = await t.request('POST', '/api/v1/artifacts?name=fw&version=9.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'fw 9' });
    artifactId = (upload.json() as { id: string }).id;
    for (const id of ['ok-1', 'ok-2', 'waiting', 'refused']) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { ring: 'r' } } })).status).toBe(201);
    }
    await t.app.store.enrollment.setEnrollment('waiting', 'pending', Date.now());
    await t.app.store.enrollment.setEnrollment('refused', 'rejected', Date.now());
  });
  afterAll(async () => {
    await t?.close();
  });

  for (const [name, body] of [
    ['single-phase', { strategy: 'immediate' }],
    ['phased', { strategy: 'progressive', phases: [{ percent: 50 }, { percent: 100 }] }],
  ] as const) {
    it(`leaves pending and rejected devices out of a ${name} rollout`, async () => {
      const created = await t.request('POST', '/api/v1/rollouts', { body: { artifactId, filter: { tag: 'ring:r' }, ...body } });
      expect(created.status, created.text).toBe(201);
      const id = (created.json() as { id: string }).id;
      const devices = (await t.request('GET', `/api/v1/rollouts/${id}/devices?limit=100`)).json() as { items: { deviceId: string }[] };
      expect(devices.items.map((e) => e.deviceId).sort()).toEqual(['ok-1', 'ok-2']);
      await t.request('POST', `/api/v1/rollouts/${id}/cancel`);
    });
  }
});
