// hawkBit deploymentBase offers each strategy's update as the strategy table says: update
// "attempt" (install when convenient) for a strategy whose devices are released when they
// connect, "forced" for the others; the download is forced for all. Through the real engine, one
// controller per strategy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, ROLLOUT_STRATEGIES, STRATEGIES } from '../../core/index.js';
import { nextEvent } from '../../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';

describe('hawkBit deployment modes per strategy', () => {
  let e: EngineApp;
  const clock = new ManualClock(Date.parse('2026-03-02T03:00:00Z'));
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 30 }, clock);
  });
  afterAll(async () => e?.close());

  for (const strategy of ROLLOUT_STRATEGIES) {
    const traits = STRATEGIES[strategy];
    const mode = traits.onConnect ? 'attempt' : 'forced';
    it(`${strategy}: update ${mode}`, async () => {
      const id = `strat-${strategy}`;
      expect((await e.t.request('POST', '/api/v1/devices', { body: { id, name: id, mode: 'pull', status: 'online', timezone: 'UTC', tags: { ring: id } } })).status).toBe(201);
      const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, clock.now())).token;
      const get = (path: string) => e.t.request('GET', path, { token: null, headers: { authorization: `TargetToken ${token}` } });
      const upload = await e.t.request('POST', `/api/v1/artifacts?name=fw-${strategy}&version=1.0.0`, { raw: `firmware ${strategy}\n`, headers: { 'content-type': 'application/octet-stream' } });
      const artifactId = (upload.json() as { id: string }).id;
      const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === id && ev.type === 'execution.queued');
      // 03:00 UTC: inside the window a timed strategy needs.
      const timing = traits.start === 'timed' ? { window: { daily: '02:00-04:00' } } : {};
      const phases = traits.phases === 'several' ? { phases: [{ percent: 100 }] } : {};
      await e.rollouts.create({ artifactId, filter: { tag: `ring:${id}` }, strategy, ...timing, ...phases }, 'token:test');
      await queued;
      const poll = (await get(`/DEFAULT/controller/v1/${id}`)).json() as { _links: { deploymentBase?: { href: string } } };
      const offered = (await get(new URL(poll._links.deploymentBase!.href).pathname)).json() as { deployment: Record<string, unknown> };
      expect(offered.deployment).toMatchObject({ download: 'forced', update: mode });
    });
  }
});
