// The simulator against a real server and the real rollout engine: 1,000 virtual agents enroll,
// poll with ETags and complete a rollout with no errors; a smaller fleet with injected faults ends
// each device's execution in the state its faults call for.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadArtifact } from '../testing/pull.js';
import { Fleet } from './fleet.js';

interface RolloutJson {
  id: string;
  status: string;
  counts: Record<string, number>;
}

describe('fleet simulator with the rollout engine', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ config: { authRateLimitPerMinute: 1_000_000 } });
  });
  afterAll(async () => t.close());

  async function rollout(artifactId: string, tag: string): Promise<string> {
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { name: `sim ${tag}`, artifactId, filter: { tag: `fleet:${tag}` } } });
    expect(created.status).toBe(201);
    return (created.json() as RolloutJson).id;
  }
  const status = async (id: string) => (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as RolloutJson;

  it('1,000 devices enroll and complete a rollout with no errors', async () => {
    const fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: 1000, pollSeconds: 2, tags: { fleet: 'big' }, versions: ['1.0.0', '1.1.0'], timezones: ['America/New_York', 'Europe/Berlin'], connections: 32 });
    try {
      expect((await t.request('GET', '/api/v1/devices/count?tag=fleet:big')).json()).toEqual({ total: 1000 });
      fleet.start();
      const artifact = await uploadArtifact(t.app, randomBytes(64 * 1024), { name: 'firmware', version: '2.0.0' });
      const id = await rollout(artifact.id, 'big');
      const done = await fleet.waitUntil((s) => s.versions['2.0.0'] === 1000 && s.phases.idle === 1000, { timeoutMs: 250_000, everyMs: 500, onTick: (s) => process.env.SIM_DEBUG && console.log(JSON.stringify(s)) });
      expect(done.errors).toBe(0);
      // Once done, polls answer 304 from the server's cache.
      await fleet.waitUntil((s) => s.notModified > 0, { timeoutMs: 60_000 });
      let final = await status(id);
      for (let i = 0; i < 50 && final.status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        final = await status(id);
      }
      expect(final).toMatchObject({ status: 'completed', counts: { succeeded: 1000 } });
    } finally {
      expect((await fleet.stop()).errors).toBe(0);
    }
  }, 300_000);

  it('with faults injected, drops are resumed, corruptions fail and health failures roll back', async () => {
    const fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: 60, idPrefix: 'faulty-', tags: { fleet: 'faulty' }, pollSeconds: 1, downloadDropRate: 0.5, badHashRate: 0.2, healthFailRate: 0.2, seed: 42 });
    try {
      fleet.start();
      const artifact = await uploadArtifact(t.app, randomBytes(256 * 1024), { name: 'firmware', version: '3.0.0' });
      const id = await rollout(artifact.id, 'faulty');
      const terminal = (s: RolloutJson) => (s.counts.succeeded ?? 0) + (s.counts.failed ?? 0) + (s.counts['rolled-back'] ?? 0) === 60;
      let final = await status(id);
      await fleet.waitUntil(() => terminal(final), { timeoutMs: 90_000, everyMs: 300, onTick: () => void status(id).then((s) => (final = s)) });
      const summary = fleet.summary();
      expect(summary.drops).toBeGreaterThan(0);
      expect(final.counts['rolled-back'] ?? 0).toBe(summary.rollbacks);
      expect(final.counts.failed ?? 0).toBe(summary.corruptions);
      expect(final.counts.succeeded).toBe(fleet.devices.filter((d) => d.version === '3.0.0').length);
      const failed = (await t.request('GET', `/api/v1/rollouts/${id}/devices?state=failed`)).json() as { items: { error: string }[] };
      expect(failed.items.every((e) => /sha256 mismatch/.test(e.error))).toBe(true);
      expect(summary.errors).toBe(0);
    } finally {
      await fleet.stop();
    }
  }, 120_000);
});
