// An agent fleet rolls back after its first rollout: 20 simulated agents (the real agent code)
// run 1.0.0 that this server never had, take 2.0.0, and a rollback switches every one back to its
// previous slot; a push device in the same rollout cannot be, and the answer says why.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingReceiver, type CountingReceiver } from '../testing/counting-receiver.js';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadArtifact } from '../testing/pull.js';
import { Fleet } from './fleet.js';

describe('fleet rollback after the first rollout', () => {
  let t: TestApp;
  let receiver: CountingReceiver;
  beforeAll(async () => {
    t = await startTestApp({ config: { authRateLimitPerMinute: 1_000_000 } });
    receiver = await startCountingReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('switches every agent back to 1.0.0 and names the device that cannot be rolled back', async () => {
    const fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: 20, idPrefix: 'rb-', pollSeconds: 1, tags: { fleet: 'rb' }, versions: ['1.0.0'], seed: 7 });
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'rb-push', mode: 'http', address: `${receiver.url}/update`, status: 'online', version: '1.0.0', tags: { fleet: 'rb' } } })).status).toBe(201);
    try {
      fleet.start();
      const artifact = await uploadArtifact(t.app, randomBytes(32 * 1024), { name: 'firmware', version: '2.0.0' });
      // The only rollouts this server runs: the first, then the rollback.
      const completed = () => nextEvent(t.app.events, (e) => e.type === 'rollout.completed', 90_000);
      const firstDone = completed();
      const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { name: 'first', artifactId: artifact.id, filter: { tag: 'fleet:rb' } } });
      const id = (created.json() as { id: string }).id;
      expect((await firstDone).rolloutId).toBe(id);
      await fleet.waitUntil((s) => s.versions['2.0.0'] === 20 && s.phases.idle === 20, { timeoutMs: 90_000 });
      const revertDone = completed();

      const answer = await t.request('POST', `/api/v1/rollouts/${id}/rollback`, { token: t.tokens.operator });
      expect(answer.status).toBe(200);
      const result = answer.json() as { rollout: { status: string }; rollbacks: { id: string; revert: boolean; progress: { total: number } }[]; withoutPrevious: string[]; notRolledBack: { deviceId: string; reason: string }[] };
      expect(result.rollout.status).toBe('rolled-back');
      expect(result.rollbacks).toMatchObject([{ revert: true, progress: { total: 20 } }]);
      expect(result.withoutPrevious).toEqual(['rb-push']);
      expect(result.notRolledBack).toEqual([{ deviceId: 'rb-push', reason: 'this server never had the artifact it ran before (a first install from here), and a http push device keeps no other slot this server can switch it back to' }]);

      const summary = await fleet.waitUntil((s) => s.versions['1.0.0'] === 20 && s.phases.idle === 20, { timeoutMs: 90_000 });
      expect(summary.errors).toBe(0);
      const revert = result.rollbacks[0]!.id;
      expect((await revertDone).rolloutId).toBe(revert);
      expect((await t.request('GET', `/api/v1/rollouts/${revert}`)).json()).toMatchObject({ status: 'completed', revert: true, counts: { succeeded: 20 }, progress: { percentDone: 100, successRate: 100 } });
      const pulled = (await t.request('GET', '/api/v1/devices?tag=fleet:rb&mode=pull&limit=100')).json() as { items: { version: string }[] };
      expect(new Set(pulled.items.map((d) => d.version))).toEqual(new Set(['1.0.0']));
      expect(((await t.request('GET', '/api/v1/devices/rb-push')).json() as { version: string }).version).toBe('2.0.0');
    } finally {
      expect((await fleet.stop()).errors).toBe(0);
    }
  }, 240_000);
});
